"""The harness's stand-in for systemd's Restart=always (no database, no services)."""

import sys

from .services import Process, supervised, wait_until


def test_a_process_that_exits_on_its_own_is_started_again_and_one_killed_after_the_block_is_not(tmp_path):
    marker = tmp_path / "runs"
    # Exits with 3 on its first run (a crash), then stays up.
    script = (
        "import pathlib, sys, time\n"
        f"p = pathlib.Path({str(marker)!r}); runs = int(p.read_text()) if p.exists() else 0\n"
        "p.write_text(str(runs + 1))\n"
        "sys.exit(3) if runs == 0 else time.sleep(60)\n"
    )
    process = Process([sys.executable, "-c", script], env={}, log=tmp_path / "crashy.log")
    with supervised(process, every=0.05) as restarts:
        process.start()
        wait_until(lambda: marker.exists() and marker.read_text() == "2", timeout=30, what="the restart")
    assert restarts == ["crashy exited with 3"]
    assert process.running
    process.kill()
    assert not process.running and marker.read_text() == "2"
