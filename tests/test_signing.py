"""Our webhook signatures agree with the twilio SDK's RequestValidator, as handlers run it."""

from __future__ import annotations

import json

from twilio.request_validator import RequestValidator

from twilio_es_cli.signing import (
    body_sha256,
    compute_signature,
    sign_json_request,
    signatures_match,
    url_with_body_hash,
)

TOKEN = "12345678901234567890123456789012"
BODY = json.dumps([{"specversion": "1.0", "type": "com.twilio.messaging.message.sent"}]).encode()


def test_json_request_is_accepted_by_the_sdk_validator() -> None:
    url, signature = sign_json_request(TOKEN, "https://example.test/events?x=1", BODY)
    assert f"bodySHA256={body_sha256(BODY)}" in url
    assert RequestValidator(TOKEN).validate(url, BODY.decode(), signature)


def test_tampered_body_wrong_token_and_rewritten_url_are_rejected() -> None:
    url, signature = sign_json_request(TOKEN, "https://example.test/events", BODY)
    validator = RequestValidator(TOKEN)
    assert not validator.validate(url, BODY.decode() + " ", signature)
    assert not RequestValidator("0" * 32).validate(url, BODY.decode(), signature)
    assert not validator.validate(url.replace("https://", "http://"), BODY.decode(), signature)


def test_form_parameters_are_signed_sorted_like_the_sdk() -> None:
    params = {"To": "+1", "From": "+2", "Body": "hi"}
    ours = compute_signature(TOKEN, "https://example.test/sms", params)
    assert ours == RequestValidator(TOKEN).compute_signature("https://example.test/sms", params)


def test_body_hash_replaces_an_existing_one() -> None:
    url = url_with_body_hash("https://example.test/e?bodySHA256=stale&a=b", BODY)
    assert url.count("bodySHA256=") == 1 and "stale" not in url and "a=b" in url


def test_comparison() -> None:
    assert signatures_match("abc", "abc")
    assert not signatures_match("abc", "abd")
