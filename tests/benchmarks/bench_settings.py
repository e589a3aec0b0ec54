"""Production settings plus one route, for bench_api.py's gunicorn: DRF's default list."""

from config.settings.production import *  # noqa: F403

ROOT_URLCONF = "tests.benchmarks.bench_urls"
