"""Rate limits shared by every web process: atomic counters in the cache and a sliding window.

The API throttle (checkouts/api/throttling.py) and the password-reset limits
(checkouts/views/accounts.py) count here. A counter must stay exact when many requests hit
the same key at once, so each cache backend gets its own atomic increment:

- Redis: `SET key 0 EX ttl NX` and `INCRBY` in one Lua script (one command, atomic).
- the file cache: read and rewrite the entry under an OS file lock (`fcntl.flock`), because
  several gunicorn processes on one host share the directory.
- the local-memory cache and anything else: one lock for this process (locmem is per process).
"""

import fcntl
import hashlib
import logging
import math
import os
import threading
import time
import zlib
from typing import NamedTuple

from django.core.cache import caches
from django.core.cache.backends.filebased import FileBasedCache
from django.core.cache.backends.redis import RedisCache
from redis.commands.core import Script
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# What the cache raises when it cannot be reached: Redis's errors, or the file cache's disk.
CACHE_DOWN = (RedisError, OSError)

_PERIODS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600}

# The file cache's entries are locked in stripes: a bounded set of lock files, whatever the
# number of keys, and little contention between unrelated keys.
_FILE_LOCK_STRIPES = 64
_process_lock = threading.Lock()


def parse_rate(rate: str) -> tuple[int, int]:
    """'600/minute' → (600, 60)."""
    count, _, period = rate.partition("/")
    return int(count), _PERIODS[period.strip().lower()]


def counter_add(*, key: str, delta: int = 1, timeout: int, alias: str = "default") -> int:
    """Add `delta` to the counter at `key` (created at 0, expiring `timeout` s later); return the new value."""
    backend = caches[alias]
    if isinstance(backend, RedisCache):
        return _redis_add(backend, key, delta, timeout)[0]
    if isinstance(backend, FileBasedCache):
        return _file_add(backend, key, delta, timeout)
    with _process_lock:
        backend.add(key, 0, timeout=timeout)
        try:
            return backend.incr(key, delta)
        except ValueError:  # expired between add and incr
            backend.set(key, delta, timeout=timeout)
            return delta


# The count and the reads in one command: SET NX EX creates the counter at 0 with its expiry,
# INCRBY counts; each GET answers false (nil) for an absent key, which keeps the reply's
# positions (a Lua nil would end the array there). A script runs atomically, as MULTI/EXEC did,
# and its one reply is a fifth of the parsing of MULTI's six.
_ADD_AND_READ = Script(
    None,
    b"""
redis.call('SET', KEYS[1], 0, 'EX', ARGV[2], 'NX')
local reply = {redis.call('INCRBY', KEYS[1], ARGV[1])}
for index = 2, #KEYS do
    reply[index] = redis.call('GET', KEYS[index]) or false
end
return reply
""",
)  # EVALSHA, loading the script again when the server does not know it (a restart)


def _redis_add(backend: RedisCache, key: str, delta: int, timeout: int, *also_read: str | None) -> tuple:
    """(the new value, then the value at each key of `also_read`, None where absent or the key is None):
    one round trip, one atomic script."""
    full_key = backend.make_and_validate_key(key)
    client = backend._cache.get_client(full_key, write=True)
    reads = [backend.make_and_validate_key(other) for other in also_read if other is not None]
    value, *raw = _ADD_AND_READ(keys=[full_key, *reads], args=[delta, timeout], client=client)
    loaded = iter(backend._cache._serializer.loads(item) if item is not None else None for item in raw)
    return (int(value), *(next(loaded) if other is not None else None for other in also_read))


def _file_add(backend: FileBasedCache, key: str, delta: int, timeout: int) -> int:
    backend._createdir()
    stripe = zlib.crc32(key.encode()) % _FILE_LOCK_STRIPES
    with open(os.path.join(backend._dir, f"counter-{stripe}.lock"), "a") as lock:
        # flock excludes other processes and, since each call opens its own file
        # description, other threads of this one.
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            value = (backend.get(key) or 0) + delta
            _file_replace(backend, key, value, timeout, staging=f"counter-{stripe}.tmp")
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return value


def _file_replace(backend: FileBasedCache, key: str, value: int, timeout: int, *, staging: str) -> None:
    """Write the entry as `backend.set` would, cheaper, for a caller holding the key's stripe lock.

    `set` renames a fresh temporary file over the old entry; on ext4 a rename over an existing
    file flushes the new file's data to disk first (auto_da_alloc), 1 to 16 ms on every API
    request. Here the old entry is unlinked first, so the rename replaces nothing; readers
    either hold the lock or read another window's entry. A crash in between loses the count
    (the window restarts at 0). The staging file's name is the stripe's (the lock makes it
    ours), and the directory is culled only when an entry is new: once per key and window,
    not on every request.
    """
    path = backend._key_to_file(key)
    staging_path = os.path.join(backend._dir, staging)
    with open(staging_path, "wb") as file:
        backend._write_content(file, timeout, value)
    try:
        os.unlink(path)
    except FileNotFoundError:
        backend._cull()
    os.rename(staging_path, path)


class Decision(NamedTuple):
    allowed: bool
    wait_seconds: int | None = None
    # Seconds left of the `failures_blocked` block checked with the hit (then nothing was counted).
    blocked_seconds: int | None = None


def sliding_window_hit(*, key: str, rate: str, alias: str = "default", unless_blocked: str | None = None) -> Decision:
    """Count one request against `rate` for `key`; refused requests do not use up the budget.

    The current fixed window's count plus the previous window's, weighted by how much of it
    still overlaps the last `period` seconds: no burst of twice the limit at a window
    boundary, as a plain fixed window allows. Raises one of CACHE_DOWN if the cache is away.

    `unless_blocked`: a `failure_record` key; while it is blocked the request is refused
    (`blocked_seconds`) and not counted. On Redis that check rides in the count's round trip.
    """
    limit, period = parse_rate(rate)
    now = time.time()
    window = int(now // period)
    elapsed = now - window * period
    current_key, previous_key = f"{key}:{window}", f"{key}:{window - 1}"
    backend = caches[alias]
    if isinstance(backend, RedisCache):
        # Production's path, on every API request: the count, the previous window and the
        # address's block in one round trip.
        blocked_key = f"{unless_blocked}:blocked" if unless_blocked is not None else None
        current, previous, until = _redis_add(backend, current_key, 1, period * 2, previous_key, blocked_key)
        if (left := _left(until)) is not None:
            counter_add(key=current_key, delta=-1, timeout=period * 2, alias=alias)
            return Decision(False, left, blocked_seconds=left)
        previous = previous or 0
    else:
        if unless_blocked is not None and (left := failures_blocked(key=unless_blocked, alias=alias)) is not None:
            return Decision(False, left, blocked_seconds=left)
        current = counter_add(key=current_key, timeout=period * 2, alias=alias)
        previous = backend.get(previous_key) or 0
    if previous * (1 - elapsed / period) + current <= limit:
        return Decision(True)
    counter_add(key=current_key, delta=-1, timeout=period * 2, alias=alias)
    return Decision(False, _wait(limit, period, elapsed, previous, current - 1))


def _wait(limit: int, period: int, elapsed: float, previous: int, current: int) -> int:
    """Seconds until one more request fits, from the same estimate `sliding_window_hit` makes."""
    if current < limit:
        # Room in this window once the previous window's weight has shrunk enough.
        return max(1, math.ceil(period * (1 - (limit - current - 1) / previous) - elapsed))
    # This window is full: wait into the next, until this window's weight has shrunk enough.
    return max(1, math.ceil(period - elapsed + period * (1 - (limit - 1) / current)))


def hashed(value: str) -> str:
    """A cache-key part for a value that must not sit in the cache in clear (an email address)."""
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def failures_blocked(*, key: str, alias: str = "default") -> int | None:
    """Seconds left of the block `failure_record` put on `key`, or None if it is not blocked."""
    return _left(caches[alias].get(f"{key}:blocked"))


def _left(until: float | None) -> int | None:
    left = math.ceil(until - time.time()) if until is not None else 0
    return left if left > 0 else None


def failure_record(*, key: str, rate: str, alias: str = "default") -> int | None:
    """Count one failure for `key`; past `rate`, block it until one more would fit, and return the seconds."""
    decision = sliding_window_hit(key=key, rate=rate, alias=alias)
    if decision.allowed:
        return None
    caches[alias].set(f"{key}:blocked", time.time() + decision.wait_seconds, timeout=decision.wait_seconds)
    return decision.wait_seconds
