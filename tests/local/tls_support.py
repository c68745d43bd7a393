"""TLS in front of the sandbox for client tests: a self-signed certificate, and a request
handler that passes each request on to the Events emulator over plain HTTP, telling it either
RFC 7239 ``Forwarded`` only or nothing (as real proxies differ)."""

from __future__ import annotations

import datetime
import http.client
import ipaddress
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any


def self_signed(directory: Path, *, dns: str | None = None) -> tuple[Path, Path]:
    """(certificate, key) for ``dns`` (else 127.0.0.1), its own CA, valid for a day."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns or "127.0.0.1")])
    alt: x509.GeneralName = (
        x509.DNSName(dns) if dns else x509.IPAddress(ipaddress.ip_address("127.0.0.1"))
    )
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([alt]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "proxy.pem", directory / "proxy.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def passthrough(
    upstream: Callable[[], str], mode: Callable[[], str]
) -> type[BaseHTTPRequestHandler]:
    """A handler class passing requests to ``upstream()`` (``http://host:port``); ``mode()`` is
    ``"forwarded"`` (add ``Forwarded: proto=https;host=...`` and nothing else) or ``"silent"``
    (pass the client's ``Host``, add nothing)."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _pass(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {
                k: v
                for k, v in self.headers.items()
                if k.lower() not in ("host", "connection", "content-length")
            }
            if mode() == "forwarded":
                headers["Forwarded"] = f'for=127.0.0.1;proto=https;host="{self.headers["Host"]}"'
            else:
                headers["Host"] = self.headers["Host"]
            connection = http.client.HTTPConnection(upstream().removeprefix("http://"))
            connection.request(self.command, self.path, body=body, headers=headers)
            answer = connection.getresponse()
            data = answer.read()
            self.send_response(answer.status)
            for name, value in answer.getheaders():
                if name.lower() not in ("connection", "transfer-encoding", "content-length"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            connection.close()

        do_GET = do_POST = do_DELETE = _pass

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


class ConnectProxy:
    """An HTTP proxy on 127.0.0.1 that answers ``CONNECT host:443``, terminates TLS with
    ``cert`` (the client trusts it: ``NODE_EXTRA_CA_CERTS``) and serves the tunnel with
    ``handler`` (a :func:`passthrough` class): how twilio-cli (``HTTP_PROXY``) reaches the
    sandbox while it believes it talks to events.twilio.com."""

    def __init__(self, cert: Path, key: Path, handler: type[BaseHTTPRequestHandler]) -> None:
        import socket
        import ssl
        import threading

        self.handler = handler
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert, key)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(32)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.tunnels: list[str] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        import threading

        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._tunnel, args=(conn,), daemon=True).start()

    def _tunnel(self, conn: Any) -> None:
        import ssl

        try:
            reader = conn.makefile("rb")
            request_line = reader.readline().decode("latin-1").strip()
            while reader.readline() not in (b"\r\n", b""):
                pass
            self.tunnels.append(request_line)
            conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            tls = self.context.wrap_socket(conn, server_side=True)
            self.handler(tls, ("127.0.0.1", 0), None)  # type: ignore[arg-type]
        except (OSError, ssl.SSLError):
            pass  # a client that gave up (an update check we do not serve)
        finally:
            conn.close()

    def close(self) -> None:
        self.sock.close()
