"""A burst of deliveries: 300 clients at once, every one answered by `webhook listen`.

Twilio retries a delivery that is not answered, so a listener that leaves connections
waiting turns a burst into duplicates. The burst arrives while the listener is stopped
(SIGSTOP): only the kernel's accept queue holds the connections then, so how many it took is
the listener's backlog, not a race with its accept loop. With the old backlog of 5, 294 of the
300 connects could not complete until the listener ran again; now all 300 are queued, and after
SIGCONT each gets its 200.
"""

from __future__ import annotations

import signal
import socket
import threading
from pathlib import Path

from tests.webhook.hook_support import TOKEN, ListenProcess, event
from twilio_es_cli.signing import sign_json_request

CLIENTS = 300


def _signed(base: str, n: int) -> bytes:
    body = b"[" + event(n, data_as_string=False) + b"]"
    url, signature = sign_json_request(TOKEN, f"{base}/events", body)
    path = url.removeprefix(base)
    return (
        f"POST {path} HTTP/1.1\r\nHost: {base.removeprefix('http://')}\r\n"
        f"X-Twilio-Signature: {signature}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode() + body


def test_a_burst_of_300_concurrent_deliveries_is_all_answered(tmp_path: Path) -> None:
    somaxconn = int(Path("/proc/sys/net/core/somaxconn").read_text())
    assert somaxconn >= CLIENTS, f"the kernel caps every backlog at {somaxconn} (Linux < 5.4?)"
    listen = ListenProcess(tmp_path, "-o", "jsonl")
    host, port = listen.base.removeprefix("http://").rsplit(":", 1)
    sockets: list[socket.socket | None] = [None] * CLIENTS
    statuses: list[bytes] = [b""] * CLIENTS

    def connect(n: int) -> None:
        sock = socket.socket()
        sock.settimeout(15)  # while the listener is stopped only the kernel can complete it
        try:
            sock.connect((host, int(port)))
            sock.sendall(_signed(listen.base, n))
        except OSError:
            sock.close()
            return
        sockets[n] = sock

    def answer(n: int) -> None:
        sock = sockets[n]
        assert sock is not None
        sock.settimeout(120)
        data = b""
        try:
            while b"\r\n" not in data:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                data += chunk
        except OSError:
            pass
        finally:
            sock.close()
        statuses[n] = data.split(b"\r\n", 1)[0]

    try:
        listen.proc.send_signal(signal.SIGSTOP)
        threads = [threading.Thread(target=connect, args=(n,)) for n in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        queued = sum(sock is not None for sock in sockets)
        listen.proc.send_signal(signal.SIGCONT)
        assert queued == CLIENTS, f"only {queued} of {CLIENTS} connections were queued"
        readers = [threading.Thread(target=answer, args=(n,)) for n in range(CLIENTS)]
        for thread in readers:
            thread.start()
        for thread in readers:
            thread.join()
    finally:
        listen.proc.send_signal(signal.SIGCONT)
        for sock in sockets:
            if sock is not None:
                sock.close()
        code, out, err = listen.stop()
    assert statuses == [b"HTTP/1.1 200 OK"] * CLIENTS
    assert code == 0, err
    assert len(out.splitlines()) == CLIENTS  # every event shown once
    assert f"{CLIENTS} accepted, 0 rejected" in err
    assert "Traceback" not in err
