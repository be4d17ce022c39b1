"""HTTP signatures: round trip, known-good vectors, tampered vectors, refusals."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpsig
import pytest

from myco_graph.errors import (
    DigestMismatch,
    SignatureDateRefused,
    SignatureIncomplete,
    SignatureInvalid,
    SignatureMalformed,
    SignatureMissing,
    SignatureRefused,
)
from myco_graph.federation.keys import generate_pair
from myco_graph.federation.signatures import (
    InboundRequest,
    SigningKey,
    check_request,
    parse_signature,
    sign_request,
    verify_request,
)
from tests.federation.conftest import PEER_PRIVATE_PEM, PEER_PUBLIC_PEM, vector

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
KEY = SigningKey("https://peer.example/users/zoe#main-key", PEER_PRIVATE_PEM)
BODY = b'{"type":"Follow","object":"https://coop.example/groups/gardeners"}'
URL = "https://coop.example/inbox?x=1"


def signed_post(body: bytes = BODY, *, moment: datetime = NOW) -> InboundRequest:
    headers = sign_request(KEY, "POST", URL, body, moment=moment)
    return InboundRequest("POST", "/inbox?x=1", headers, body)


def from_vector(name: str) -> tuple[InboundRequest, str, datetime]:
    """A stored request, the key that signed it, and the moment it was sent."""
    stored = vector(name)
    request = stored["request"]
    inbound = InboundRequest(
        request["method"],
        request["target"],
        request["headers"],
        request["body"].encode(),
    )
    sent = parsedate_to_datetime(request["headers"]["date"])
    return inbound, stored["publicKeyPem"], sent


def checks(request: InboundRequest, public_pem: str, moment: datetime) -> bool:
    signature = check_request(request, moment=moment)
    return verify_request(request, signature, public_pem)


def with_header(request: InboundRequest, name: str, value: str) -> InboundRequest:
    headers: dict[str, Any] = dict(request.headers)
    headers[name] = value
    return replace(request, headers=headers)


def without_header(request: InboundRequest, name: str) -> InboundRequest:
    headers = {key: value for key, value in request.headers.items() if key != name}
    return replace(request, headers=headers)


# Round trip ---------------------------------------------------------------------


def test_signed_post_verifies_with_the_signers_key() -> None:
    request = signed_post()

    assert checks(request, PEER_PUBLIC_PEM, NOW)


def test_signed_post_covers_target_host_date_and_digest() -> None:
    request = signed_post()

    signature = parse_signature(request.headers["signature"])

    assert signature.algorithm == "rsa-sha256"
    assert signature.headers == ("(request-target)", "host", "date", "digest")
    assert request.headers["host"] == "coop.example"
    assert request.headers["digest"].startswith("SHA-256=")


def test_signed_get_verifies_without_digest() -> None:
    headers = sign_request(KEY, "GET", "https://coop.example/users/alice", moment=NOW)
    request = InboundRequest("GET", "/users/alice", headers)

    assert "digest" not in headers
    assert checks(request, PEER_PUBLIC_PEM, NOW)


# Known-good vectors -------------------------------------------------------------


def test_draft_cavage_12_vector_verifies() -> None:
    request, public_pem, sent = from_vector("draft_cavage_12.json")

    assert checks(request, public_pem, sent)


def test_hs2019_vector_from_another_signer_verifies() -> None:
    request, public_pem, sent = from_vector("hs2019_post.json")

    assert parse_signature(request.headers["signature"]).algorithm == "hs2019"
    assert checks(request, public_pem, sent)


def test_draft_key_signs_the_draft_signature_again() -> None:
    stored = vector("draft_cavage_12.json")
    request, public_pem, sent = from_vector("draft_cavage_12.json")
    key = SigningKey("Test", stored["privateKeyPem"])

    headers = sign_request(
        key, "POST", "https://example.com/foo?param=value&pet=dog", request.body,
        moment=sent,
    )  # fmt: skip
    ours = InboundRequest("POST", request.target, headers, request.body)

    assert headers["digest"] == request.headers["digest"]
    assert checks(ours, public_pem, sent)


def test_signature_is_the_one_httpsig_makes_alone() -> None:
    # The RSA step runs on OpenSSL; PKCS#1 v1.5 is deterministic, so httpsig
    # left to pycryptodome must make the very same header.
    headers = sign_request(KEY, "POST", URL, BODY, moment=NOW)
    plain = httpsig.HeaderSigner(
        key_id=KEY.key_id,
        secret=PEER_PRIVATE_PEM,
        algorithm="rsa-sha256",
        headers=["(request-target)", "host", "date", "digest"],
        sign_header="signature",
    )
    unsigned = {name: value for name, value in headers.items() if name != "signature"}

    made = plain.sign(unsigned, method="POST", path="/inbox?x=1")

    assert made["signature"] == headers["signature"]


# Tampered vectors must fail -----------------------------------------------------


def test_changed_body_fails_the_digest() -> None:
    request, public_pem, sent = from_vector("draft_cavage_12.json")
    tampered = replace(request, body=b'{"hello": "world!"}')

    with pytest.raises(DigestMismatch):
        checks(tampered, public_pem, sent)


def test_changed_body_with_its_own_digest_fails_the_signature() -> None:
    request, public_pem, sent = from_vector("hs2019_post.json")
    body = request.body.replace(b"Follow", b"Block")
    tampered = replace(
        with_header(request, "digest", signed_post(body).headers["digest"]),
        body=body,
    )

    assert not checks(tampered, public_pem, sent)


def test_changed_header_fails() -> None:
    request, public_pem, sent = from_vector("draft_cavage_12.json")
    tampered = with_header(request, "host", "attacker.example")

    assert not checks(tampered, public_pem, sent)


def test_changed_target_fails() -> None:
    request, public_pem, sent = from_vector("hs2019_post.json")
    tampered = replace(request, target="/users/alice/inbox")

    assert not checks(tampered, public_pem, sent)


def test_changed_date_fails() -> None:
    request, public_pem, sent = from_vector("draft_cavage_12.json")
    later = "Sun, 05 Jan 2014 21:31:41 GMT"
    tampered = with_header(request, "date", later)

    assert not checks(tampered, public_pem, sent)


def test_wrong_key_fails() -> None:
    request, _, sent = from_vector("hs2019_post.json")
    other = generate_pair()

    assert not checks(request, other.public_pem, sent)


def test_round_trip_with_wrong_key_fails() -> None:
    other = generate_pair()

    assert not checks(signed_post(), other.public_pem, NOW)


# Refusals, each its own error ---------------------------------------------------


def test_missing_signature_is_refused() -> None:
    request = without_header(signed_post(), "signature")

    with pytest.raises(SignatureMissing):
        check_request(request, moment=NOW)


@pytest.mark.parametrize(
    "garbled",
    [
        "garbage",
        'keyId="k",signature=',
        'keyId="k",algorithm="rsa-sha256",headers="date"',
        'signature="AAAA",headers="date"',
        'keyId="k",signature="not base64!",headers="(request-target) host date"',
        'keyId="k",signature="AAAA",created="yesterday"',
    ],
)
def test_garbled_signature_is_refused(garbled: str) -> None:
    request = with_header(signed_post(), "signature", garbled)

    with pytest.raises(SignatureMalformed):
        check_request(request, moment=NOW)


@pytest.mark.parametrize("algorithm", ["hmac-sha256", "rsa-sha1", "ed25519"])
def test_other_algorithms_are_refused(algorithm: str) -> None:
    request = signed_post()
    value = request.headers["signature"].replace("rsa-sha256", algorithm)

    with pytest.raises(SignatureMalformed):
        check_request(with_header(request, "signature", value), moment=NOW)


def test_hs2019_label_on_our_own_signature_verifies() -> None:
    request = signed_post()
    value = request.headers["signature"].replace("rsa-sha256", "hs2019")

    assert checks(with_header(request, "signature", value), PEER_PUBLIC_PEM, NOW)


@pytest.mark.parametrize(
    ("headers", "left_out"),
    [
        ("host date digest", "(request-target)"),
        ("(request-target) date digest", "host"),
        ("(request-target) host digest", "date"),
        ("(request-target) host date", "digest"),
    ],
)
def test_post_signing_too_few_headers_is_refused(headers: str, left_out: str) -> None:
    request = signed_post()
    value = request.headers["signature"].replace(
        'headers="(request-target) host date digest"', f'headers="{headers}"'
    )

    with pytest.raises(SignatureIncomplete, match=left_out):
        check_request(with_header(request, "signature", value), moment=NOW)


def test_signature_without_header_list_is_refused() -> None:
    request = signed_post()
    value = re.sub(r',?headers="[^"]*"', "", request.headers["signature"])

    with pytest.raises(SignatureIncomplete):
        check_request(with_header(request, "signature", value), moment=NOW)


def test_signed_header_absent_from_request_is_refused() -> None:
    request = without_header(signed_post(), "host")

    with pytest.raises(SignatureMalformed, match="host"):
        check_request(request, moment=NOW)


@pytest.mark.parametrize(
    "offset", [timedelta(hours=-1, seconds=-1), timedelta(hours=1, seconds=1)]
)
def test_date_over_an_hour_off_is_refused(offset: timedelta) -> None:
    request = signed_post(moment=NOW + offset)

    with pytest.raises(SignatureDateRefused):
        check_request(request, moment=NOW)


def test_date_within_the_hour_is_taken() -> None:
    request = signed_post(moment=NOW - timedelta(minutes=59))

    assert checks(request, PEER_PUBLIC_PEM, NOW)


@pytest.mark.parametrize("date", ["yesterday", "Tue, 01 Dec 2026 10:00:00"])
def test_garbled_date_is_refused(date: str) -> None:
    request = with_header(signed_post(), "date", date)

    with pytest.raises(SignatureDateRefused):
        check_request(request, moment=NOW)


def test_expired_signature_is_refused() -> None:
    request = signed_post()
    value = request.headers["signature"] + f",expires={int(NOW.timestamp()) - 1}"

    with pytest.raises(SignatureDateRefused, match="expired"):
        check_request(with_header(request, "signature", value), moment=NOW)


@pytest.mark.parametrize(
    "digest",
    [
        "SHA-256=AAAA",
        "MD5=Q2hlY2sgSW50ZWdyaXR5IQ==",
        "garbage",
    ],
)
def test_wrong_or_unusable_digest_is_refused(digest: str) -> None:
    request = with_header(signed_post(), "digest", digest)

    with pytest.raises(DigestMismatch):
        check_request(request, moment=NOW)


def test_digest_with_several_algorithms_checks_each() -> None:
    request = signed_post()
    both = request.headers["digest"] + ",SHA-512=AAAA"

    with pytest.raises(DigestMismatch):
        check_request(with_header(request, "digest", both), moment=NOW)


def test_key_that_is_not_rsa_is_refused() -> None:
    ed25519_pem = (
        "-----BEGIN PUBLIC KEY-----\n"
        "MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n"
        "-----END PUBLIC KEY-----\n"
    )
    request = signed_post()
    signature = check_request(request, moment=NOW)

    with pytest.raises(SignatureInvalid):
        verify_request(request, signature, ed25519_pem)


def test_every_refusal_is_a_signature_refusal() -> None:
    for error in (
        SignatureMissing,
        SignatureMalformed,
        SignatureIncomplete,
        SignatureDateRefused,
        DigestMismatch,
        SignatureInvalid,
    ):
        assert issubclass(error, SignatureRefused)
