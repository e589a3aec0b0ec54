"""bench_shopify.py's server settings: production's, plus two trivial views that anchor the figures."""

from config.settings.production import *  # noqa: F403

ROOT_URLCONF = "tests.benchmarks.shopify_urls"
