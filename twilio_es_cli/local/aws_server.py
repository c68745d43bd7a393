"""The sandbox's local AWS: moto's server behind a small front of our own.

moto's ``ThreadedMotoServer`` serves its Flask apps with werkzeug and nothing else. The
sandbox needs three things in front of them, so it builds the same server (werkzeug's
``make_server``, threaded, with moto's request handler and dispatcher, the names ``moto.server``
uses: ``moto.moto_server.werkzeug_app``) around :class:`Front`, a WSGI app that:

- serves ``Kinesis.SubscribeToShard`` itself, as a streamed (chunked) HTTP/1.1 response of
  event-stream frames (:mod:`~twilio_es_cli.local.kinesis_subscribe`): botocore sends it over
  HTTP/1.1 and reads the body as it comes;
- writes one line per request to the :class:`~twilio_es_cli.local.requestlog.RequestLog`
  (method, operation, status, milliseconds; an error's code and message);
- turns what moto raises into one AWS-shaped error answer and one log line, never a
  traceback on the user's terminal: an operation moto lacks is ``501 NotImplemented`` (never
  worth retrying), anything else ``500 InternalFailure``; the traceback only with ``--debug``.
"""

from __future__ import annotations

import io
import json
import logging
import re
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import parse_qs

from twilio_es_cli.local.requestlog import Entry, RequestLog

_STATUS_TEXT = {
    200: "OK",
    400: "Bad Request",
    500: "Internal Server Error",
    501: "Not Implemented",
}
_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/(?P<service>[^/]+)/aws4_request")
_SERVICES = {"iam": "IAM", "sts": "STS", "kinesis": "Kinesis"}
_XML_CODE = re.compile(rb"<Code>([^<]*)</Code>")
_XML_MESSAGE = re.compile(rb"<Message>([^<]*)</Message>")

Start = Callable[..., Any]


class AwsServer:
    """moto's server (Kinesis, IAM, STS) on ``host:port`` behind :class:`Front`."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.log: RequestLog | None = None  # set once started: restoring state stays quiet
        self.closing = threading.Event()  # ends open subscriptions when the sandbox stops
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> AwsServer:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        # Our Front logs each request (and each failure) once; werkzeug's own access lines and
        # "Error on request" tracebacks would repeat them, unasked, on the user's terminal.
        logging.getLogger("werkzeug").setLevel(logging.CRITICAL)
        self.closing.clear()
        moto_app = DomainDispatcherApplication(create_backend_app)
        self._server = make_server(
            self.host,
            self.port,
            Front(moto_app, self),
            threaded=True,
            request_handler=MotoRequestHandler,
        )
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="sandbox-aws", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.closing.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None


class Front:
    """The WSGI app in front of moto's (see the module docstring)."""

    def __init__(self, app: Callable[..., Iterable[bytes]], server: AwsServer) -> None:
        self.app = app
        self.server = server

    def __call__(self, environ: dict[str, Any], start_response: Start) -> Iterable[bytes]:
        started = time.monotonic()
        method = str(environ.get("REQUEST_METHOD", "?"))
        operation = request_operation(environ)
        if operation == "Kinesis.SubscribeToShard":
            return self._subscribe(environ, start_response, method, started)
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"], captured["headers"] = status, headers
            return lambda data: captured.setdefault("written", []).append(data)

        try:
            result = self.app(environ, capture)
            try:
                chunks = [*captured.pop("written", []), *(bytes(c) for c in result)]
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        except Exception as exc:
            return self._crashed(environ, start_response, method, operation, started, exc)
        status = int(str(captured.get("status", "500")).split()[0])
        headers = list(captured.get("headers", []))
        if status == 404 and not any(chunks) and environ.get("HTTP_X_AMZ_TARGET"):
            # moto's answer to a target its botocore does not know: an empty 404. AWS says
            # UnknownOperationException, which every SDK turns into a readable error.
            status, headers, chunks = _unknown_operation(operation)
            captured["status"] = _status_line(status)
        detail = error_detail(headers, b"".join(chunks)) if status >= 400 else ""
        self._log(Entry(method, operation, status, _millis(started), detail))
        start_response(str(captured.get("status", "500 Internal Server Error")), headers)
        return chunks

    def _subscribe(
        self, environ: dict[str, Any], start_response: Start, method: str, started: float
    ) -> Iterable[bytes]:
        from twilio_es_cli.local import kinesis_subscribe

        answer = kinesis_subscribe.handle(read_body(environ), self.server.closing)
        headers = [*answer.headers, ("x-amzn-RequestId", uuid.uuid4().hex)]
        start_response(_status_line(answer.status), headers)

        def done(failure: BaseException | None) -> None:
            detail = answer.summary()
            trace = None
            if failure is not None:
                detail = f"{detail}; ended by an internal error: {failure!r}"
                trace = "".join(traceback.format_exception(failure))
            entry = Entry(
                method, "Kinesis.SubscribeToShard", answer.status, _millis(started), detail
            )
            self._log(entry, trace)

        return _Logged(answer.body, done)

    def _crashed(
        self,
        environ: dict[str, Any],
        start_response: Start,
        method: str,
        operation: str,
        started: float,
        exc: Exception,
    ) -> Iterable[bytes]:
        """moto raised: answer like AWS would (one error document), log one line."""
        if isinstance(exc, NotImplementedError):
            status, code = 501, "NotImplemented"
            message = f"The offline sandbox does not implement {operation} ({exc})"
        else:
            status, code = 500, "InternalFailure"
            message = f"The offline sandbox failed on {operation}: {type(exc).__name__}: {exc}"
        trace = "".join(traceback.format_exception(exc))
        self._log(Entry(method, operation, status, _millis(started), f"{code}: {message}"), trace)
        if environ.get("HTTP_X_AMZ_TARGET"):  # the JSON protocol (Kinesis)
            body = json.dumps({"__type": code, "message": message}).encode()
            kind = "application/x-amz-json-1.1"
        else:  # the query protocol (IAM, STS): an XML error document
            body = _xml_error(code, message)
            kind = "text/xml"
        start_response(
            _status_line(status),
            [
                ("Content-Type", kind),
                ("x-amzn-ErrorType", code),
                ("Content-Length", str(len(body))),
            ],
        )
        return [body]

    def _log(self, entry: Entry, trace: str | None = None) -> None:
        log = self.server.log
        if log is not None:
            log.record(entry, traceback=trace)


class _Logged:
    """A streamed body that reports once it ends: all sent, the client gone, or a failure."""

    def __init__(self, body: Iterator[bytes], done: Callable[[BaseException | None], None]):
        self.body = body
        self.done = done
        self.failure: BaseException | None = None
        self.reported = False

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self.body
        except Exception as exc:  # a bug mid-stream: end this stream, keep the server
            self.failure = exc

    def close(self) -> None:
        close = getattr(self.body, "close", None)
        if close is not None:
            close()
        if not self.reported:
            self.reported = True
            self.done(self.failure)


def _millis(started: float) -> float:
    return (time.monotonic() - started) * 1000


def _status_line(status: int) -> str:
    return f"{status} {_STATUS_TEXT.get(status, 'Error')}"


def _unknown_operation(operation: str) -> tuple[int, list[tuple[str, str]], list[bytes]]:
    """AWS's answer (JSON protocol) to an ``X-Amz-Target`` it does not know."""
    code = "UnknownOperationException"
    body = json.dumps({"__type": code, "message": f"Unknown operation {operation}"}).encode()
    headers = [
        ("Content-Type", "application/x-amz-json-1.1"),
        ("x-amzn-ErrorType", code),
        ("Content-Length", str(len(body))),
    ]
    return 400, headers, [body]


def _xml_error(code: str, message: str) -> bytes:
    from xml.sax.saxutils import escape

    return (
        "<ErrorResponse><Error><Type>Receiver</Type>"
        f"<Code>{escape(code)}</Code><Message>{escape(message)}</Message></Error>"
        f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    ).encode()


def read_body(environ: dict[str, Any]) -> bytes:
    """The request body, put back so the app behind can read it again."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    stream = environ.get("wsgi.input")
    data = stream.read(length) if stream is not None and length > 0 else b""
    environ["wsgi.input"] = io.BytesIO(data)
    return bytes(data)


def request_operation(environ: dict[str, Any]) -> str:
    """``Service.Operation`` of an AWS request (``Kinesis.PutRecords``, ``IAM.CreateRole``), or
    its path (``/moto-api/reset``)."""
    target = str(environ.get("HTTP_X_AMZ_TARGET") or "")
    path = str(environ.get("PATH_INFO") or "/")
    if target:
        prefix, _, action = target.partition(".")
        service = prefix.split("_")[0]
        return f"{service}.{action}" if action else target
    if str(environ.get("CONTENT_TYPE", "")).startswith("application/x-www-form-urlencoded"):
        form = parse_qs(read_body(environ).decode("utf-8", "replace"))
        action = (form.get("Action") or [""])[0]
        if action:
            scope = _SCOPE.search(str(environ.get("HTTP_AUTHORIZATION") or ""))
            service = scope["service"] if scope else "AWS"
            return f"{_SERVICES.get(service, service)}.{action}"
    return path


def error_detail(headers: list[tuple[str, str]], body: bytes) -> str:
    """``Code: message`` of an AWS error answer (JSON or XML), for the log line."""
    code = next((v for k, v in headers if k.lower() == "x-amzn-errortype"), "")
    message = ""
    try:
        doc = json.loads(body)
    except ValueError:
        doc = None
    if isinstance(doc, dict):
        code = code or str(doc.get("__type", ""))
        message = str(doc.get("message") or doc.get("Message") or "")
    else:
        found_code, found_message = _XML_CODE.search(body), _XML_MESSAGE.search(body)
        code = code or (found_code.group(1).decode("utf-8", "replace") if found_code else "")
        if found_message:
            message = found_message.group(1).decode("utf-8", "replace")
    code = code.split(":")[0].rsplit("#", 1)[-1]
    return f"{code}: {message}" if message else code
