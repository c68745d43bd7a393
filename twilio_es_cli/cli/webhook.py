"""`twilio-es webhook sign|verify|listen`, and the `tail --forward-to` options.

Thin: parse -> :mod:`twilio_es_cli.webhook` -> render. The signing token comes from
``TWILIO_AUTH_TOKEN`` (preferred: it stays out of shell history) or ``--signing-token``.
"""

from __future__ import annotations

import os
import sys
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from twilio_es_cli.cli._common import JqOption, JsonOption
from twilio_es_cli.errors import ConfigError, ExitCode, UsageError

if TYPE_CHECKING:
    import threading
    from collections.abc import Callable

    from twilio_es_cli.webhook.forward import Forwarder
    from twilio_es_cli.webhook.verify import Diagnosis

DEFAULT_PORT = 7410  # the listener's; also webhook.listen.DEFAULT_PORT (checked by a test)

app = typer.Typer(
    name="webhook",
    help="Sign, verify and receive Twilio webhook requests (X-Twilio-Signature).",
    no_args_is_help=True,
    rich_markup_mode=None,
)

TokenOption = Annotated[
    str | None,
    typer.Option(
        "--signing-token",
        "--token",
        metavar="TOKEN",
        help="Auth token to sign/verify with (default: TWILIO_AUTH_TOKEN, which keeps it out "
        "of shell history).",
        show_default=False,
    ),
]


class ListenOutput(str, Enum):
    pretty = "pretty"
    json = "json"
    jsonl = "jsonl"


def signing_token(flag: str | None, *, purpose: str) -> str:
    """The auth token from ``--signing-token`` or ``TWILIO_AUTH_TOKEN``; exit 3 when neither."""
    token = flag if flag is not None else os.environ.get("TWILIO_AUTH_TOKEN", "")
    if not token:
        raise ConfigError(
            f"no auth token to {purpose}",
            hint="Export TWILIO_AUTH_TOKEN (the auth token of the account that owns the sink; "
            "`twilio-es local up` prints it for the sandbox) or pass --signing-token.",
        )
    return token


def _read_body(path: Path) -> bytes:
    if str(path) == "-":
        return (
            sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read().encode()
        )
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc


@app.command("sign")
def sign(
    url: Annotated[
        str,
        typer.Option(
            "--url",
            metavar="URL",
            help="The webhook URL (as configured on the sink).",
            show_default=False,
        ),
    ],
    body_file: Annotated[
        Path,
        typer.Option(
            "--body-file",
            metavar="FILE",
            help="The raw JSON body ('-' for stdin).",
            show_default=False,
        ),
    ],
    token: TokenOption = None,
    curl: Annotated[
        bool,
        typer.Option(
            "--curl", help="Print a ready-to-paste curl command that POSTs the signed body."
        ),
    ] = False,
    as_json: JsonOption = False,
    jq: JqOption = None,
) -> None:
    """Print the X-Twilio-Signature and the signed URL (with bodySHA256) for a JSON body.

    For your handler's own tests: send the body to the printed URL with the printed header,
    exactly as Twilio's Event Streams webhook sink does; --curl prints that request as one
    curl command (the body inline, every part shell-quoted).

    \b
    Examples:
      twilio-es webhook sign --url https://example.com/events --body-file event.json
      twilio-es webhook sign --url http://127.0.0.1:7410/events --body-file event.json --curl | sh
    """
    from twilio_es_cli.signing import body_sha256, sign_json_request
    from twilio_es_cli.webhook.post import Target

    Target.parse(url)
    secret = signing_token(token, purpose="sign with")
    body = _read_body(body_file)
    signed_url, signature = sign_json_request(secret, url, body)
    if curl:
        if as_json:
            raise UsageError("give --curl or --json, not both")
        sys.stdout.write(curl_command(signed_url, signature, body) + "\n")
        return
    if as_json:
        from twilio_es_cli.output import print_json

        print_json({"url": signed_url, "signature": signature, "body_sha256": body_sha256(body)})
        return
    sys.stdout.write(f"X-Twilio-Signature: {signature}\nURL: {signed_url}\n")


def curl_command(url: str, signature: str, body: bytes) -> str:
    """One POSIX-shell line that sends ``body`` to ``url`` as Twilio's webhook sink would.

    Every argument goes through :func:`shlex.quote`, so a body with quotes, ``$`` or
    newlines arrives byte for byte; ``--data-raw`` keeps a body starting with ``@`` from
    being read as a file name (``--data``/``--data-binary`` would).
    """
    import shlex

    from twilio_es_cli.signing import SIGNATURE_HEADER

    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError("--curl needs a UTF-8 body (Twilio sends JSON)") from exc
    if "\x00" in text:
        raise UsageError("--curl cannot put a body with NUL bytes on a command line")
    words = [
        "curl",
        "--silent",
        "--show-error",
        "--request",
        "POST",
        "--header",
        "Content-Type: application/json",
        "--header",
        f"{SIGNATURE_HEADER}: {signature}",
        "--data-raw",
        text,
        url,
    ]
    return " ".join(shlex.quote(word) for word in words)


@app.command("verify")
def verify(
    capture: Annotated[
        Path | None,
        typer.Argument(
            metavar="CAPTURE",
            help="A captured request: JSON {url, headers, body} or HTTP/1.1 text ('-': stdin).",
            show_default=False,
        ),
    ] = None,
    url: Annotated[
        str | None,
        typer.Option(
            "--url",
            metavar="URL",
            help="The URL the handler saw (instead of CAPTURE).",
            show_default=False,
        ),
    ] = None,
    signature: Annotated[
        str | None,
        typer.Option(
            "--signature",
            metavar="SIG",
            help="The X-Twilio-Signature header value.",
            show_default=False,
        ),
    ] = None,
    body_file: Annotated[
        Path | None,
        typer.Option(
            "--body-file",
            metavar="FILE",
            help="The raw body the handler received.",
            show_default=False,
        ),
    ] = None,
    scheme: Annotated[
        str | None,
        typer.Option(
            "--scheme",
            metavar="http|https",
            help="Scheme of an HTTP/1.1 capture (default: X-Forwarded-Proto, else https).",
            show_default=False,
        ),
    ] = None,
    token: TokenOption = None,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose",
            "-v",
            help="Also show the body check, every URL variant tried, token notes.",
        ),
    ] = False,
    as_json: JsonOption = False,
    jq: JqOption = None,
) -> None:
    """Say whether a request's Twilio signature is valid, and if not exactly why and the fix.

    Tries the URL as received and its variants (bodySHA256 kept/dropped/added, http/https,
    port added/removed, trailing slash, query order), checks the body against bodySHA256
    (and spots a re-serialised JSON body), and checks the token's shape (an API key SID or
    secret instead of the auth token). A valid request is one line; an invalid one says the
    most likely cause first and the fix (--verbose: every variant tried). Exit status: 0
    valid, 5 invalid.

    \b
    Examples:
      twilio-es webhook verify request.json            # {url, headers, body}, or listen --save
      twilio-es webhook verify dump.http --scheme https --verbose
      twilio-es webhook verify --url 'https://example.com/events?bodySHA256=...' \\
          --signature 'Rk5...=' --body-file body.json
    """
    from twilio_es_cli.webhook.capture import CapturedRequest, parse_capture
    from twilio_es_cli.webhook.verify import diagnose

    if capture is not None:
        if url or signature or body_file:
            raise UsageError("give either CAPTURE or --url/--signature/--body-file, not both")
        request = parse_capture(_read_body(capture), scheme=scheme, source=str(capture))
    elif url and signature:
        from twilio_es_cli.webhook.capture import checked_url

        checked_url(url, "--url")
        body = _read_body(body_file) if body_file is not None else b""
        request = CapturedRequest(url, body, {"X-Twilio-Signature": signature})
    else:
        raise UsageError(
            "nothing to verify",
            hint="Pass a captured request file, or --url, --signature and --body-file.",
        )
    secret = signing_token(token, purpose="verify with")
    diag = diagnose(request, secret)
    if as_json:
        from twilio_es_cli.output import print_json

        print_json(diag.to_json())
    else:
        from twilio_es_cli.safe_text import visible

        text = _describe(diag, verbose=verbose)
        sys.stdout.write(visible(text, keep_lines=True))  # a captured request
    if not diag.valid:
        raise typer.Exit(int(ExitCode.CHECK_FAILED))


def _describe(diag: Diagnosis, *, verbose: bool = False) -> str:
    """The verdict: one line when valid; else the reason, the likely cause, the fix, and
    (with ``verbose``) the body check, every URL variant tried and the token notes."""
    lines = [("valid: " if diag.valid else "invalid: ") + diag.reason]
    if not diag.valid:
        if diag.cause:
            lines.append(f"likely cause: {diag.cause}")
        if diag.fix:
            lines.append(f"fix: {diag.fix}")
    if verbose:
        lines.append(f"  body hash (bodySHA256): {diag.body_hash}")
        lines.append(f"  URL variants tried: {len(diag.attempts)}")
        for attempt in diag.attempts:
            mark = "match   " if attempt.matched else "no match"
            lines.append(f"    {mark}  {attempt.label:<40}  {attempt.url}")
        lines.extend(f"  token: {note}" for note in diag.token_notes)
    elif not diag.valid and diag.attempts:
        lines.append(f"({len(diag.attempts)} URL variants tried; --verbose lists them)")
    return "\n".join(lines) + "\n"


@app.command("listen")
def listen(
    port: Annotated[
        int,
        typer.Option(
            "--port",
            "-p",
            min=0,
            max=65535,
            help=f"Port to listen on (default {DEFAULT_PORT}; 0 picks a free one).",
        ),
    ] = DEFAULT_PORT,
    host: Annotated[
        str, typer.Option("--host", help="Address to bind (default loopback only).")
    ] = "127.0.0.1",
    output_format: Annotated[
        ListenOutput | None,
        typer.Option(
            "--output",
            "-o",
            help="pretty, json or jsonl (default: pretty on a terminal, jsonl when piped).",
            show_default=False,
        ),
    ] = None,
    forward_to: Annotated[
        str | None,
        typer.Option(
            "--forward-to",
            metavar="URL",
            help="After verifying, re-sign and pass each request to your app here; answer "
            "with its status.",
            show_default=False,
        ),
    ] = None,
    public_url: Annotated[
        str | None,
        typer.Option(
            "--public-url",
            metavar="URL",
            help="Scheme and host the sender used (a tunnel's https://...): the URL Twilio signed.",
            show_default=False,
        ),
    ] = None,
    save: Annotated[
        Path | None,
        typer.Option(
            "--save",
            metavar="DIR",
            help="Save every request as a capture file (for `webhook verify`), mode 0600; "
            "Authorization and Cookie values are hidden.",
            show_default=False,
        ),
    ] = None,
    save_credentials: Annotated[
        bool,
        typer.Option(
            "--save-credentials",
            help="Keep Authorization and Cookie values in --save files (hidden otherwise).",
        ),
    ] = False,
    max_requests: Annotated[
        int | None,
        typer.Option(
            "--max", min=1, metavar="N", help="Stop after N requests.", show_default=False
        ),
    ] = None,
    token: TokenOption = None,
) -> None:
    """Receive webhook requests locally, check each signature, show the events like tail.

    Answers 200 when X-Twilio-Signature and bodySHA256 match, else 403 with the reason (in
    the body and on the terminal). With --forward-to it passes verified requests to your app,
    re-signed for the app's URL, and answers with the app's status (502 when the app is down,
    so the sender retries). It keeps its last 500 events with their verdicts at GET
    /__twilio-es/events (answered to local requests only), which is where `sink validate`
    reads a webhook sink's test event back in one step. Stops on Ctrl-C (exit 130), SIGTERM
    or --max (exit 0).

    \b
    Examples:
      twilio-es webhook listen                                   # http://127.0.0.1:7410/
      twilio-es sink create webhook --destination http://127.0.0.1:7410/events
      twilio-es sink validate DGxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx  # reads the test event back here
      twilio-es webhook listen --forward-to http://localhost:3000/twilio -o jsonl
    """
    from twilio_es_cli import output
    from twilio_es_cli.webhook.listen import Listener, ListenOptions
    from twilio_es_cli.webhook.post import Target

    secret = signing_token(token, purpose="verify signatures with")
    if forward_to:
        Target.parse(forward_to)
    if public_url:
        Target.parse(public_url)
    if save is not None and not save.is_dir():
        raise UsageError(
            f"--save {save}: not a directory", hint=f"Create it first: mkdir -p {save}"
        )
    if save_credentials and save is None:
        raise UsageError(
            "--save-credentials only applies with --save DIR", hint="Add --save DIR, or drop it."
        )
    fmt = (
        output_format.value
        if output_format
        else ("pretty" if output.is_tty(sys.stdout) else "jsonl")
    )
    listener = Listener(
        ListenOptions(
            secret, host, port, fmt, forward_to, public_url, save, max_requests, save_credentials
        ),
        sys.stdout,
    )
    listener.start()
    bound_host, bound_port = listener.address
    where = f"http://{bound_host}:{bound_port}/"
    output.info(
        f"Listening on {where} (signatures checked with the auth token"
        f"{' from TWILIO_AUTH_TOKEN' if token is None else ''})"
        + (f"; forwarding to {forward_to}" if forward_to else "")
    )
    code = _wait(listener)
    output.info(f"{listener.counts['accepted']} accepted, {listener.counts['rejected']} rejected")
    if code:
        raise typer.Exit(code)


def _wait(listener: object) -> int:
    """Serve until --max, SIGTERM (0) or Ctrl-C (130)."""
    import signal

    from twilio_es_cli.webhook.listen import Listener

    assert isinstance(listener, Listener)
    previous = signal.signal(signal.SIGTERM, lambda *_: listener.done.set())
    try:
        while not listener.done.wait(0.2):
            pass
        return 0
    except KeyboardInterrupt:
        return int(ExitCode.INTERRUPTED)
    finally:
        signal.signal(signal.SIGTERM, previous)
        listener.close()


# --- `tail --forward-to`: the options, declared here so cli/tail.py only gains parameters ----

ForwardToOption = Annotated[
    str | None,
    typer.Option(
        "--forward-to",
        metavar="URL",
        help="POST each event to URL as Twilio's webhook sink would (signed, retried).",
        show_default=False,
        rich_help_panel="Forwarding",
    ),
]
HeaderOption = Annotated[
    list[str] | None,
    typer.Option(
        "--header",
        "-H",
        metavar="'K: V'",
        help="Extra header for --forward-to (repeatable).",
        show_default=False,
    ),
]
RateOption = Annotated[
    float | None,
    typer.Option(
        "--rate",
        min=0.001,
        metavar="N",
        help="--forward-to: at most N requests per second.",
        show_default=False,
    ),
]
ConcurrencyOption = Annotated[
    int,
    typer.Option(
        "--concurrency",
        min=1,
        max=64,
        metavar="N",
        help="--forward-to: requests in flight (order kept per partition key).",
    ),
]
BatchOption = Annotated[
    int,
    typer.Option(
        "--batch",
        min=1,
        max=1000,
        metavar="N",
        help="--forward-to: 1 (default) posts each event as one JSON object, as a sink "
        "with batch_events false; N > 1 posts JSON arrays of up to N, as batch_events true.",
    ),
]


def parse_headers(values: list[str] | None) -> tuple[tuple[str, str], ...]:
    """``-H 'K: V'`` values -> pairs (a usage error for anything else).

    Checked here, before anything is read: a header that cannot be sent (a line break in
    the value would inject another header) would otherwise fail every request of the run.
    """
    from twilio_es_cli.webhook.post import header_problem

    hint = "For example: -H 'Authorization: Bearer abc'."
    pairs = []
    for value in values or ():
        name, colon, content = value.partition(":")
        if not colon or not name.strip():
            raise UsageError(f"-H {_short(value)!r} is not 'Name: value'", hint=hint)
        name, content = name.strip(), content.strip(" \t")
        problem = header_problem(name, content)
        if problem:
            raise UsageError(f"-H {_short(value)!r} cannot be sent: {problem}", hint=hint)
        pairs.append((name, content))
    return tuple(pairs)


def _short(text: str, limit: int = 60) -> str:
    """A prefix of user input for a message (never echo a 100,000-character argument)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def tail_forwarding(
    url: str | None,
    headers: list[str] | None,
    token: str | None,
    rate: float | None,
    concurrency: int,
    batch: int,
    output_format: str,
    *,
    ends_by_itself: bool = False,
    run_timeout: float | None = None,
) -> Callable[..., Forwarder] | None:
    """For `tail`: a factory of the --forward-to sink (taking ``stop``), or None without it.

    Everything is checked here, before the stream is read; forwarding options without
    --forward-to are a usage error (they would be silently ignored). A tail that
    ``ends_by_itself`` (--no-follow, --max, --timeout) gives up retrying after
    :data:`~twilio_es_cli.webhook.forward.RETRY_BUDGET`; ``run_timeout`` (--timeout) ends
    retries with the run.
    """
    if url is None:
        given = {"-H": headers, "--signing-token": token, "--rate": rate}
        given.update({"--concurrency": concurrency > 1, "--batch": batch > 1})
        stray = [name for name, value in given.items() if value]
        if stray:
            raise UsageError(f"{', '.join(stray)} only apply with --forward-to URL")
        return None
    from twilio_es_cli.webhook.forward import RETRY_BUDGET, Forwarder, ForwardOptions

    if output_format == "raw":
        raise UsageError("--output raw does not apply to --forward-to", hint="Use pretty or jsonl.")
    options = ForwardOptions(
        url=url,
        token=signing_token(token, purpose="sign forwarded events with"),
        headers=parse_headers(headers),
        rate=rate,
        concurrency=concurrency,
        batch=batch,
        output=output_format,
        give_up_after=RETRY_BUDGET if ends_by_itself else None,
        run_timeout=run_timeout,
    )
    Forwarder.check(options)

    def build(*, stop: threading.Event) -> Forwarder:
        return Forwarder(options, sys.stdout, stop=stop)

    return build


def register(root: typer.Typer) -> None:
    root.add_typer(app)
