"""Forwarding benchmark: the `tail --forward-to` sink beside bare HTTP loops, same bodies.

Starts a handler that answers 200 at once (a separate process on 127.0.0.1, stdlib
``ThreadingHTTPServer`` with keep-alive), then, interleaved over several rounds so background
load hits all alike:

- the forwarder (:class:`twilio_es_cli.webhook.forward.Forwarder`), fed the decoded events
  ``tail`` would hand it: builds each webhook body, signs it (bodySHA256 + HMAC-SHA1), POSTs
  it with Twilio's headers and waits for every answer (``--concurrency 1``, the default);
- (a) a bare urllib3 loop POSTing the same, pre-built bodies (no signing) over one kept-alive
  connection;
- (b) a bare ``http.client`` loop, likewise;

and prints events/s and the forwarder's ratio to the faster bare loop (target >= 0.8).

    .venv/bin/python bench/forward.py                  # 3 rounds of 3,000 events
    .venv/bin/python bench/forward.py --events 1000 --rounds 2
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SERVER = r"""
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
    def log_message(self, *args):
        pass

server = ThreadingHTTPServer(("127.0.0.1", 0), H)
server.daemon_threads = True
print(server.server_address[1], flush=True)
server.serve_forever()
"""

TOKEN = "0123456789abcdef0123456789abcdef"


def make_events(count: int) -> list[tuple[Any, Any]]:
    """(KinesisRecord, DecodedEvent) pairs as tail hands them over (data as a JSON string)."""
    from twilio_es_cli.tail.decode import decode
    from twilio_es_cli.tail.records import KinesisRecord

    now = datetime.now(timezone.utc)
    pairs = []
    for n in range(count):
        data = {
            "messageSid": f"SM{n:032d}",
            "messageStatus": "delivered",
            "to": "+15551234567",
            "from": "+15557654321",
            "accountSid": f"AC{'0' * 32}",
            "errorCode": None,
        }
        doc = {
            "specversion": "1.0",
            "type": "com.twilio.messaging.message.delivered",
            "source": f"/2010-04-01/Accounts/AC{'0' * 32}/Messages/SM{n:032d}",
            "id": f"EZ{n:032d}",
            "datacontenttype": "application/json",
            "dataschema": "https://events-schemas.twilio.com/Messaging.MessageStatus/4",
            "time": "2026-01-01T00:00:00.000Z",
            "data": json.dumps(data),
        }
        raw = json.dumps(doc).encode()
        pairs.append((KinesisRecord("shardId-0", str(n), f"k{n % 16}", now, raw), decode(raw)))
    return pairs


def run_forwarder(url: str, events: list[tuple[Any, Any]], concurrency: int) -> float:
    from twilio_es_cli.webhook.forward import Forwarder, ForwardOptions

    options = ForwardOptions(url, TOKEN, output="jsonl", concurrency=concurrency)
    started = time.perf_counter()
    forwarder = Forwarder(options, io.StringIO())
    for record, decoded in events:
        forwarder.write(record, decoded)
    assert forwarder.flush()
    forwarder.close()
    elapsed = time.perf_counter() - started
    assert forwarder.summary.delivered == len(events), forwarder.summary
    return elapsed


def bodies_of(events: list[tuple[Any, Any]]) -> list[bytes]:
    from twilio_es_cli.webhook.forward import webhook_body

    # One CloudEvent object per request, as forward sends it by default (batch_events false).
    return [webhook_body(decoded) or b"" for _, decoded in events]


def run_urllib3(port: int, bodies: list[bytes]) -> float:
    import urllib3

    pool = urllib3.HTTPConnectionPool("127.0.0.1", port, maxsize=1)
    headers = {"Content-Type": "application/json"}
    started = time.perf_counter()
    for body in bodies:
        answer = pool.request("POST", "/events", body=body, headers=headers)
        assert answer.status == 200
    elapsed = time.perf_counter() - started
    pool.close()
    return elapsed


def run_http_client(port: int, bodies: list[bytes]) -> float:
    conn = http.client.HTTPConnection("127.0.0.1", port)
    headers = {"Content-Type": "application/json"}
    started = time.perf_counter()
    for body in bodies:
        conn.request("POST", "/events", body=body, headers=headers)
        answer = conn.getresponse()
        answer.read()
        assert answer.status == 200
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    server = subprocess.Popen([sys.executable, "-c", SERVER], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        url = f"http://127.0.0.1:{port}/events"
        events = make_events(args.events)
        bodies = bodies_of(events)
        times: dict[str, list[float]] = {
            "forwarder (--concurrency 1)": [],
            "forwarder (--concurrency 4)": [],
            "(a) bare urllib3 loop": [],
            "(b) bare http.client loop": [],
        }
        run_forwarder(url, events[:200], 1)  # warm-up (imports, first connection)
        run_urllib3(port, bodies[:200])
        for _ in range(args.rounds):
            times["forwarder (--concurrency 1)"].append(run_forwarder(url, events, 1))
            times["(a) bare urllib3 loop"].append(run_urllib3(port, bodies))
            times["(b) bare http.client loop"].append(run_http_client(port, bodies))
            times["forwarder (--concurrency 4)"].append(run_forwarder(url, events, 4))
    finally:
        server.terminate()
        server.wait(timeout=10)

    rates = {name: args.events / statistics.median(ts) for name, ts in times.items()}
    best_bare = max(rates["(a) bare urllib3 loop"], rates["(b) bare http.client loop"])
    ratio = rates["forwarder (--concurrency 1)"] / best_bare
    if args.json:
        print(
            json.dumps(
                {
                    "events": args.events,
                    "rounds": args.rounds,
                    "rates": rates,
                    "ratio_vs_best_bare": ratio,
                },
                indent=2,
            )
        )
    else:
        print(f"{args.events} events x {args.rounds} rounds, median per round")
        print(f"| {'sender':<30} | {'events/s':>9} | {'x best bare loop':>16} |")
        print(f"|{'-' * 32}|{'-' * 10}:|{'-' * 17}:|")
        for name, rate in rates.items():
            print(f"| {name:<30} | {rate:>9,.0f} | {rate / best_bare:>16.2f} |")
        print(f"forwarder (--concurrency 1) / best bare loop: {ratio:.2f} (target >= 0.8)")
    return 0 if ratio >= 0.8 else 1


if __name__ == "__main__":
    sys.exit(main())
