"""The file cache's counters stay exact across processes, as gunicorn's workers share them (config/ratelimit.py)."""

import os
import subprocess
import sys
from pathlib import Path

from django.core.cache.backends.filebased import FileBasedCache

REPO = Path(__file__).resolve().parents[2]
PROCESSES, EACH = 4, 200

WORKER = """
import sys
import django
from django.conf import settings
django.setup()
BACKEND = "django.core.cache.backends.filebased.FileBasedCache"
settings.CACHES = {"default": {"BACKEND": BACKEND, "LOCATION": sys.argv[1]}}
from config.ratelimit import counter_add
for _ in range(int(sys.argv[2])):
    counter_add(key="shared", timeout=600)
"""


def test_processes_incrementing_one_file_cache_counter_lose_no_count(tmp_path):
    """cache.add + incr, as the throttle counted before, kept 406 of 1,000 increments (4 processes x 250)."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    workers = [
        subprocess.Popen([sys.executable, "-c", WORKER, str(tmp_path), str(EACH)], cwd=REPO, env=env)
        for _ in range(PROCESSES)
    ]
    assert [worker.wait(timeout=300) for worker in workers] == [0] * PROCESSES
    assert FileBasedCache(str(tmp_path), {}).get("shared") == PROCESSES * EACH
