"""Production settings plus one route, for bench_api.py's gunicorn: DRF's default list."""

from config.settings.production import *  # noqa: F403

ROOT_URLCONF = "tests.benchmarks.bench_urls"
# seed_demo encrypted the stores' secrets with the development key: readable, never used to write.
COMEBACK_ENCRYPTION_KEYS = [*COMEBACK_ENCRYPTION_KEYS, DEVELOPMENT_ENCRYPTION_KEY]  # noqa: F405
