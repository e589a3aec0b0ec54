"""`make run`'s supervisord config, read as supervisord reads it (the processes themselves are
exercised by tests/faults/test_make_run.py, in the embedded pass of CI)."""

import configparser
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "deploy" / "local" / "supervisord.conf"
CTRL_C_LIMIT = 10  # seconds, the README's promise


def programs() -> dict[str, configparser.SectionProxy]:
    parser = configparser.RawConfigParser(inline_comment_prefixes=(";",))
    parser.read(CONFIG)
    return {name.split(":", 1)[1]: parser[name] for name in parser.sections() if name.startswith("program:")}


def test_make_run_starts_supervisord_with_this_config():
    assert re.search(r"\$\(BIN\)/supervisord -c deploy/local/supervisord\.conf$", (REPO / "Makefile").read_text(), re.M)


def test_web_worker_and_beat_are_separate_programs_restarted_whenever_they_exit():
    found = programs()
    assert set(found) == {"web", "worker", "beat"}
    assert " worker " in found["worker"]["command"] and "--beat" not in found["worker"]["command"]
    assert " beat " in found["beat"]["command"]
    for program in found.values():
        assert program["autorestart"] == "true"
        assert program["killasgroup"] == "true"
    # The worker and the scheduler must never end up given up on (FATAL) by a crash loop.
    assert int(found["worker"]["startretries"]) >= 100 and int(found["beat"]["startretries"]) >= 100


def test_the_worker_has_no_pool_process_to_lose():
    assert "--pool threads" in programs()["worker"]["command"]


def test_every_program_is_killed_before_ctrl_c_has_taken_ten_seconds():
    parser = configparser.RawConfigParser(inline_comment_prefixes=(";",))
    parser.read(CONFIG)
    # One group: supervisord stops groups one after another, the programs of a group at once.
    assert set(parser["group:comeback"]["programs"].split(",")) == set(programs())
    assert max(int(program["stopwaitsecs"]) for program in programs().values()) < CTRL_C_LIMIT - 2
    assert int(parser["eventlistener:console"]["stopwaitsecs"]) <= 2
