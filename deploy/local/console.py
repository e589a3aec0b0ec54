"""`make run`'s console: a supervisord event listener that prints each program's output lines
prefixed with its name ("worker | ..."), as honcho did.

supervisord reads the programs' output itself and hands it here as PROCESS_LOG events, so a
program has no helper process of its own whose death could cut it off from its console, and
this listener is supervised like the programs (restarted if it dies). Protocol:
https://supervisord.org/events.html (READY, a header line, a payload of `len` bytes, RESULT).
Lines go to stderr, which supervisord copies to the terminal; stdout is the protocol.
"""

import sys

WIDTH = 6  # the longest program name, so the bars line up


def fields(line: bytes) -> dict[bytes, bytes]:
    return dict(item.split(b":", 1) for item in line.split())


def main() -> None:
    protocol_in, protocol_out, console = sys.stdin.buffer, sys.stdout.buffer, sys.stderr.buffer
    # A chunk can end mid-line: the rest waits for the program's next chunk.
    partial: dict[bytes, bytes] = {}
    while True:
        protocol_out.write(b"READY\n")
        protocol_out.flush()
        header = protocol_in.readline()
        if not header:  # supervisord went away
            return
        payload = protocol_in.read(int(fields(header)[b"len"]))
        if fields(header)[b"eventname"].startswith(b"PROCESS_LOG"):
            event_header, _, data = payload.partition(b"\n")
            name = fields(event_header)[b"processname"]
            *lines, partial[name] = (partial.get(name, b"") + data).split(b"\n")
            prefix = name.ljust(WIDTH) + b" | "
            console.write(b"".join(prefix + line + b"\n" for line in lines))
            console.flush()
        protocol_out.write(b"RESULT 2\nOK")
        protocol_out.flush()


if __name__ == "__main__":
    main()
