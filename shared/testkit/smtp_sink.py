"""A local SMTP server for the notice tests (aiosmtpd, pinned in requirements-test.txt).

Usage: smtp_sink.py DIR. Listens on a free port of 127.0.0.1 and prints "ready PORT" once it accepts
connections. Saves each message it accepts as DIR/NNNN.eml (written whole before the 250 reply, so a client that
got its reply finds the file), and refuses recipients at refused.example with 550, as a server refusing a
mailbox does. Runs until its standard input closes: the test that started it owns it, and it ends with the test.
"""

import itertools
import pathlib
import socket
import sys

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, out: pathlib.Path):
        self.out = out
        self.numbers = itertools.count(1)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower().endswith("@refused.example"):
            return "550 5.1.1 <%s>: mailbox unavailable" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        path = self.out / ("%04d.eml" % next(self.numbers))
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(envelope.original_content or envelope.content)
        tmp.rename(path)
        return "250 2.0.0 accepted as %s" % path.name


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    out = pathlib.Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    port = free_port()
    controller = Controller(Sink(out), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", port, flush=True)
    try:
        sys.stdin.read()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
