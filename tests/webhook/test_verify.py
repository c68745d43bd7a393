"""`webhook sign` / `webhook verify`: valid requests pass, and each failure names its cause."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from twilio.request_validator import RequestValidator

from tests.fixture_types import CliRunner
from tests.webhook.hook_support import TOKEN, event
from twilio_es_cli.signing import sign_json_request
from twilio_es_cli.webhook.capture import CapturedRequest, parse_capture
from twilio_es_cli.webhook.verify import diagnose

BODY = b"[" + event(1, data_as_string=False) + b"]"
URL = "https://hooks.example.com:8443/twilio/events?tenant=a&env=prod"


def signed(url: str = URL, body: bytes = BODY, token: str = TOKEN) -> CapturedRequest:
    signed_url, signature = sign_json_request(token, url, body)
    return CapturedRequest(signed_url, body, {"X-Twilio-Signature": signature})


def test_a_signed_request_is_valid_and_the_sdk_agrees() -> None:
    request = signed()
    diag = diagnose(request, TOKEN)
    assert diag.valid and diag.body_hash == "match"
    assert RequestValidator(TOKEN).validate(request.url, BODY.decode(), request.signature)


def test_tampered_body_is_named() -> None:
    request = signed()
    tampered = CapturedRequest(
        request.url, BODY.replace(b"delivered", b"failed!!!"), request.headers
    )
    diag = diagnose(tampered, TOKEN)
    assert not diag.valid and diag.body_hash == "mismatch"
    assert "does not match bodySHA256" in diag.reason


def test_a_re_serialised_json_body_is_recognised() -> None:
    request = signed()
    parsed_again = json.dumps(json.loads(BODY), separators=(",", ":")).encode()  # e.g. a parser
    diag = diagnose(CapturedRequest(request.url, parsed_again, request.headers), TOKEN)
    assert not diag.valid
    assert "re-serialised" in diag.reason and "raw request body" in (diag.fix or "")


def test_rewritten_urls_name_the_variant_that_was_signed() -> None:
    request = signed("https://hooks.example.com/twilio/events?tenant=a&env=prod")
    cases = {
        "other scheme": request.url.replace("https://", "http://"),
        "port": request.url.replace(".com/", ".com:443/"),
        "other scheme, port": request.url.replace(
            "https://hooks.example.com/", "http://hooks.example.com:8080/"
        ),
        "slash": request.url.replace("/events?", "/events/?"),
        "bodySHA256 added": "https://hooks.example.com/twilio/events?tenant=a&env=prod",
    }
    for label, seen in cases.items():
        diag = diagnose(CapturedRequest(seen, BODY, request.headers), TOKEN)
        assert not diag.valid, label
        assert diag.matched_url == request.url, label
        matched = [a.label for a in diag.attempts if a.matched]
        assert any(label.split(",")[0] in m for m in matched), (label, matched)
        assert diag.fix, label


def test_reordered_query_is_found() -> None:
    request = signed("https://hooks.example.com/events?b=2&a=1")
    reordered = request.url.replace("b=2&a=1", "a=1&b=2")
    diag = diagnose(CapturedRequest(reordered, BODY, request.headers), TOKEN)
    assert not diag.valid and diag.matched_url is not None
    assert "query" in (diag.fix or "")


def test_wrong_token_and_api_key_shapes() -> None:
    request = signed()
    wrong = diagnose(request, "f" * 32)
    assert not wrong.valid and "no URL variant matched" in wrong.reason
    assert "auth token" in (wrong.fix or "") and not wrong.token_notes
    sid = diagnose(request, "SK" + "0" * 32)
    assert any("API key SID" in n for n in sid.token_notes)
    secret = diagnose(request, "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY")
    assert any("API key secret" in n for n in secret.token_notes)


def test_missing_signature_header() -> None:
    diag = diagnose(CapturedRequest(URL, BODY, {}), TOKEN)
    assert not diag.valid and "X-Twilio-Signature" in diag.reason


def test_http_capture_rebuilds_the_url_from_host_and_forwarded_proto() -> None:
    request = signed("https://hooks.example.com/twilio/events")
    path = request.url.split("hooks.example.com", 1)[1]
    dump = (
        f"POST {path} HTTP/1.1\r\nHost: hooks.example.com\r\nX-Forwarded-Proto: https\r\n"
        f"Content-Type: application/json\r\nX-Twilio-Signature: {request.signature}\r\n"
        f"Content-Length: {len(BODY)}\r\n\r\n"
    ).encode() + BODY
    parsed = parse_capture(dump)
    assert parsed.url == request.url and parsed.body == BODY
    assert diagnose(parsed, TOKEN).valid
    as_http = parse_capture(dump.replace(b"X-Forwarded-Proto: https\r\n", b""), scheme="http")
    assert not diagnose(as_http, TOKEN).valid


def test_cli_sign_then_verify_round_trip(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", TOKEN)
    body_file = tmp_path / "body.json"
    body_file.write_bytes(BODY)
    signed_doc = cli("webhook", "sign", "--url", URL, "--body-file", str(body_file), "--json")
    assert signed_doc.exit_code == 0, signed_doc.stderr
    doc = signed_doc.json()
    assert RequestValidator(TOKEN).validate(doc["url"], BODY.decode(), doc["signature"])

    capture = tmp_path / "req.json"
    capture.write_text(
        json.dumps(
            {
                "url": doc["url"],
                "headers": {"X-Twilio-Signature": doc["signature"]},
                "body": BODY.decode(),
            }
        )
    )
    ok = cli("webhook", "verify", str(capture))
    assert ok.exit_code == 0 and ok.stdout.startswith("valid:"), ok.stdout

    http_url = doc["url"].replace("https://", "http://")
    bad = cli(
        "webhook",
        "verify",
        "--url",
        http_url,
        "--signature",
        doc["signature"],
        "--body-file",
        str(body_file),
    )
    assert bad.exit_code == 5
    assert "other scheme" in bad.stdout and "fix:" in bad.stdout

    as_json = cli("webhook", "verify", str(capture), "--json", "--token", "SK" + "1" * 32)
    assert as_json.exit_code == 5
    verdict = as_json.json()
    assert verdict["valid"] is False and len(verdict["tried"]) >= 8
    assert any("API key SID" in n for n in verdict["token_notes"])


def test_cli_missing_token_and_bad_input(cli: CliRunner, tmp_path: Path) -> None:
    body_file = tmp_path / "body.json"
    body_file.write_bytes(BODY)
    missing = cli("webhook", "sign", "--url", URL, "--body-file", str(body_file))
    assert missing.exit_code == 3 and "TWILIO_AUTH_TOKEN" in missing.stderr
    junk = tmp_path / "junk.txt"
    junk.write_text("hello\n")
    bad = cli("webhook", "verify", str(junk), "--token", TOKEN)
    assert bad.exit_code == 2 and "Traceback" not in bad.stderr
    nothing = cli("webhook", "verify", "--token", TOKEN)
    assert nothing.exit_code == 2


def _capture(
    tmp_path: Path, request: CapturedRequest, headers: dict[str, str] | None = None
) -> str:
    path = tmp_path / "req.json"
    path.write_text(
        json.dumps(
            {
                "url": request.url,
                "headers": {**request.headers, **(headers or {})},
                "body": request.body.decode(),
            }
        )
    )
    return str(path)


def test_a_valid_request_is_one_line(cli: CliRunner, tmp_path: Path) -> None:
    ok = cli("webhook", "verify", _capture(tmp_path, signed()), "--token", TOKEN)
    assert ok.exit_code == 0, ok.stderr
    assert ok.stdout.splitlines() == [
        "valid: the signature matches the URL and the body is the one Twilio hashed"
    ]


def test_an_invalid_request_says_the_cause_first_and_lists_variants_only_when_verbose(
    cli: CliRunner, tmp_path: Path
) -> None:
    request = signed()
    wrong = CapturedRequest(request.url.replace("https://", "http://"), BODY, request.headers)
    capture = _capture(tmp_path, wrong)
    short = cli("webhook", "verify", capture, "--token", TOKEN)
    assert short.exit_code == 5
    lines = short.stdout.splitlines()
    assert lines[0].startswith("invalid: the signature is for https://"), lines
    assert lines[1].startswith("fix: Build the URL with the scheme Twilio used"), lines
    assert "no match" not in short.stdout and "--verbose lists them" in lines[-1]
    verbose = cli("webhook", "verify", capture, "--token", TOKEN, "--verbose")
    assert verbose.exit_code == 5
    assert "  URL variants tried: " in verbose.stdout
    assert "    match     other scheme" in verbose.stdout


def test_a_cut_signature_is_not_blamed_on_the_token(cli: CliRunner, tmp_path: Path) -> None:
    request = signed()
    cut = CapturedRequest(request.url, BODY, {"X-Twilio-Signature": str(request.signature)[:20]})
    result = cli("webhook", "verify", _capture(tmp_path, cut), "--token", TOKEN)
    assert result.exit_code == 5
    cause = result.stdout.splitlines()[1]
    assert cause.startswith("likely cause: the X-Twilio-Signature value is not a Twilio signature")
    assert "token" not in result.stdout.lower()


def test_a_request_seen_at_a_local_address_blames_the_tunnel_not_the_token(
    cli: CliRunner, tmp_path: Path
) -> None:
    public = signed("https://abc123.ngrok.app/twilio/events")
    local = CapturedRequest(
        public.url.replace("https://abc123.ngrok.app", "http://127.0.0.1:3000"),
        BODY,
        public.headers,
    )
    result = cli("webhook", "verify", _capture(tmp_path, local), "--token", TOKEN)
    assert result.exit_code == 5
    lines = result.stdout.splitlines()
    assert lines[1].startswith("likely cause: the request went through a proxy or tunnel"), lines
    assert "auth token" not in lines[1]


def test_the_forwarded_host_is_tried_and_named_as_the_fix(cli: CliRunner, tmp_path: Path) -> None:
    public = signed("https://abc123.ngrok.app/twilio/events")
    local = CapturedRequest(
        public.url.replace("https://abc123.ngrok.app", "http://127.0.0.1:3000"),
        BODY,
        public.headers,
    )
    headers = {"X-Forwarded-Host": "abc123.ngrok.app", "X-Forwarded-Proto": "https"}
    result = cli("webhook", "verify", _capture(tmp_path, local, headers), "--token", TOKEN)
    assert result.exit_code == 5
    assert result.stdout.startswith("invalid: the signature is for https://abc123.ngrok.app/")
    assert "X-Forwarded-Host" in result.stdout.splitlines()[1]


def test_a_wrong_token_of_the_right_shape_is_then_the_likely_cause(
    cli: CliRunner, tmp_path: Path
) -> None:
    request = signed(token="f" * 32)
    result = cli("webhook", "verify", _capture(tmp_path, request), "--token", TOKEN)
    assert result.exit_code == 5
    assert result.stdout.splitlines()[1].startswith(
        "likely cause: the auth token is not the one that signed this request"
    )
