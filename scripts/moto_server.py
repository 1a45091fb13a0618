"""The local AWS API server of the tests: moto in server mode, with DynamoDB requests applied one at a time.

DynamoDB applies each write, its condition included, atomically: of two conditional writes to one item that both
expect the same old value, exactly one succeeds. The code relies on that (the token refresh lease, plan headers,
record compare-and-set, leases). moto's in-memory backend checks a condition and applies the write in Python
without a lock, and its server handles each request in a thread, so two concurrent conditional writes can both
pass their check: a race real DynamoDB cannot have, and a test of the refresh lease failed on it in CI. This
launcher is moto's own `moto_server` (same app, same request handler) with DynamoDB requests serialised by one
lock. Other services run concurrently as before: an SQS long poll must not hold up the rest.

Usage: python scripts/moto_server.py -H 127.0.0.1 -p PORT
"""

import argparse
import threading

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple


class DynamoDbSerialised:
    """WSGI middleware: a request whose X-Amz-Target names DynamoDB runs under one lock."""

    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if not target.startswith("DynamoDB_"):
            return self.app(environ, start_response)
        with self.lock:
            # moto builds the whole body inside the call; materialise it anyway so nothing runs after the lock.
            return list(self.app(environ, start_response))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    args = parser.parse_args()
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(
        args.host,
        args.port,
        DynamoDbSerialised(app),
        threaded=True,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main()
