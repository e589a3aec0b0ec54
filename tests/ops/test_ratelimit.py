"""Rate-limit counters: exact across processes on the file cache, one script on Redis (config/ratelimit.py)."""

import os
import subprocess
import sys
from pathlib import Path

from django.core.cache import caches
from django.core.cache.backends.filebased import FileBasedCache

from config.ratelimit import _redis_add, counter_add

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


def test_on_redis_one_script_counts_and_reads_absent_keys_in_their_places(redis_cache):
    """The count and the reads ride one script; an absent key reads None where it stands, not
    cutting the reply short (a Lua nil would)."""
    backend = caches["default"]
    backend.set("blocked", 1234.5, timeout=60)
    assert _redis_add(backend, "count", 1, 60, "absent", None, "blocked") == (1, None, None, 1234.5)
    assert _redis_add(backend, "count", 2, 60) == (3,)
    assert counter_add(key="count", delta=-1, timeout=60) == 2
    assert 0 < backend._cache.get_client(write=True).ttl(backend.make_and_validate_key("count")) <= 60
    backend.delete_many(["count", "blocked"])
