"""A webhook receiver for trying the registry's webhooks (docs/webhooks.md): an HTTPS server
that checks each delivery's Standard Webhooks signature and prints what arrived.

    python3 examples/webhook_receiver.py --cert tls/server.pem --key tls/server.key \
        --secret-from hook.json --port-file receiver.port --log received.log

It listens on a free port of localhost (written to --port-file), reads the webhook's secret from
the registry's answer to the registration (--secret-from, read at each delivery, so the server
can start first), appends what arrived to --log and answers 204 to a delivery whose
signature is valid, 401 otherwise. Standard library only.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import http.server
import json
import ssl
import sys
import time
from pathlib import Path

TOLERANCE = 300  # seconds a timestamp may be away from now (replayed deliveries are refused)


def verify(secret: str, msg_id: str, timestamp: str, body: bytes, signatures: str) -> bool:
    """Whether ``signatures`` (the webhook-signature header) holds a valid v1 signature."""
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > TOLERANCE:
        return False
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(
        version == "v1" and hmac.compare_digest(value, expected)
        for version, _, value in (s.partition(",") for s in signatures.split())
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--secret-from", required=True, help="JSON holding the secret")
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--log", required=True, help="where to append what arrived")
    args = parser.parse_args()

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            secret = json.loads(Path(args.secret_from).read_text())["secret"]
            msg_id = self.headers.get("webhook-id", "")
            ok = verify(
                secret,
                msg_id,
                self.headers.get("webhook-timestamp", ""),
                body,
                self.headers.get("webhook-signature", ""),
            )
            with open(args.log, "a") as log:
                if ok:
                    print("verified", json.loads(body)["data"].get("summary"), file=log)
                else:
                    print("REFUSED a delivery with a bad signature", msg_id, file=log)
            self.send_response(204 if ok else 401)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(args.cert, args.key)
    server = http.server.ThreadingHTTPServer(("localhost", 0), Receiver)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    Path(args.port_file).write_text(str(server.server_address[1]))
    print("listening on port", server.server_address[1], file=sys.stderr, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
