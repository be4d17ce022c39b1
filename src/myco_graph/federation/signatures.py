"""HTTP signatures as the fediverse speaks them (draft-cavage-http-signatures-12).

Outgoing requests are signed ``rsa-sha256`` over ``(request-target) host
date``, plus ``digest`` when they carry a body, with a ``Digest: SHA-256=…``
header. Inbound requests are checked in two steps: :func:`check_request`
refuses everything that can be refused without the sender's key (the header
itself, the signed-header list, the Date, the Digest), then
:func:`verify_request` checks the signature with the key.

Making and checking the signature itself is httpsig's job, behind the small
:class:`Backend` interface. httpsig computes RSA with pycryptodome, several
times slower than OpenSSL, which a busy fan-out feels: signing hands that one
step to OpenSSL, while httpsig keeps making the header.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from typing import Protocol
from urllib.parse import urlsplit

import httpsig
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from httpsig.utils import HttpSigException

from myco_graph.errors import (
    DigestMismatch,
    SignatureDateRefused,
    SignatureIncomplete,
    SignatureInvalid,
    SignatureMalformed,
    SignatureMissing,
)

SIGNED_GET = ("(request-target)", "host", "date")
SIGNED_POST = ("(request-target)", "host", "date", "digest")
MAX_CLOCK_SKEW = timedelta(hours=1)
# The only signature algorithm we make and take. "hs2019" (draft-12 §2.3) lets
# the key decide; with an RSA key every fediverse server we know of (Mastodon,
# Pleroma, Misskey, GoToSocial) means RSASSA-PKCS1-v1_5 with SHA-256 by it,
# not the PSS the draft suggests, so it is checked as rsa-sha256.
ALGORITHM = "rsa-sha256"
ACCEPTED_ALGORITHMS = frozenset({ALGORITHM, "hs2019"})
DIGESTS = {"sha-256": hashlib.sha256, "sha-512": hashlib.sha512}
PSEUDO_HEADERS = frozenset({"(request-target)", "(created)", "(expires)"})
TIMESTAMP = re.compile(r"[0-9]{1,12}(\.[0-9]{1,9})?")
PARAMETER = re.compile(r'\s*([A-Za-z]+)\s*=\s*(?:"([^"]*)"|([0-9.]+))\s*(?:,|$)')


@dataclass(frozen=True)
class SigningKey:
    """What signing needs: the key's public id and its private PEM."""

    key_id: str
    private_pem: str


@dataclass(frozen=True)
class Signature:
    """The parameters of a Signature header (draft-12 §2.1)."""

    key_id: str
    algorithm: str
    headers: tuple[str, ...]
    signature: str
    created: str | None = None
    expires: str | None = None


@dataclass(frozen=True)
class InboundRequest:
    """An HTTP request as received: ``target`` is the path and query as sent."""

    method: str
    target: str
    headers: Mapping[str, str]
    body: bytes = b""

    def header(self, name: str) -> str | None:
        return self.headers.get(name)


class Backend(Protocol):
    """Makes and checks the signature over a signing string."""

    def signature_header(
        self,
        key: SigningKey,
        signed: Sequence[str],
        method: str,
        target: str,
        headers: Mapping[str, str],
    ) -> str: ...

    def verifies(
        self,
        public_pem: str,
        signature: Signature,
        method: str,
        target: str,
        headers: Mapping[str, str],
    ) -> bool: ...


class _HeaderSigner(httpsig.HeaderSigner):  # type: ignore[misc]
    """httpsig's header signer with the RSA step done by OpenSSL.

    httpsig still builds the signing string and the Signature header; only
    the RSASSA-PKCS1-v1_5 operation moves from pycryptodome to the
    ``cryptography`` package, about four times faster. PKCS#1 v1.5 is
    deterministic, so the signature is byte for byte the one httpsig makes.
    """

    def __init__(self, key_id: str, private_pem: str, signed: tuple[str, ...]):
        super().__init__(
            key_id=key_id,
            secret=private_pem,
            algorithm=ALGORITHM,
            headers=list(signed),
            sign_header="signature",
        )
        key = serialization.load_pem_private_key(private_pem.encode(), password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise HttpSigException("Invalid key.")
        self._openssl_key = key

    def _sign_rsa(self, data: bytes | str) -> bytes:
        message = data.encode("ascii") if isinstance(data, str) else data
        return self._openssl_key.sign(message, padding.PKCS1v15(), hashes.SHA256())


@functools.lru_cache(maxsize=256)
def _header_signer(
    key_id: str, private_pem: str, signed: tuple[str, ...]
) -> httpsig.HeaderSigner:
    # Reading a PEM takes longer than signing: keep the signers of busy actors.
    return _HeaderSigner(key_id, private_pem, signed)


class HttpsigBackend:
    """The backend on httpsig (its RSA step on OpenSSL when signing)."""

    def signature_header(
        self,
        key: SigningKey,
        signed: Sequence[str],
        method: str,
        target: str,
        headers: Mapping[str, str],
    ) -> str:
        signer = _header_signer(key.key_id, key.private_pem, tuple(signed))
        result = signer.sign(dict(headers), method=method, path=target)
        return str(result["signature"])

    def verifies(
        self,
        public_pem: str,
        signature: Signature,
        method: str,
        target: str,
        headers: Mapping[str, str],
    ) -> bool:
        # httpsig reads the parameters from the header again and knows
        # nothing of hs2019: it is handed the header rebuilt with rsa-sha256.
        given = dict(headers)
        given["signature"] = (
            f'keyId="{signature.key_id}",algorithm="{ALGORITHM}",'
            f'headers="{" ".join(signature.headers)}",'
            f'signature="{signature.signature}"'
        )
        # (created) and (expires) are signed as "(created): <value>"; httpsig
        # treats any unknown name as a header, so they are given as headers.
        if signature.created is not None:
            given["(created)"] = signature.created
        if signature.expires is not None:
            given["(expires)"] = signature.expires
        try:
            verifier = httpsig.HeaderVerifier(
                headers=given,
                secret=public_pem,
                required_headers=list(signature.headers),
                method=method,
                path=target,
                sign_header="signature",
            )
            return bool(verifier.verify())
        except HttpSigException as exc:
            raise SignatureInvalid("The sender's key is not an RSA key.") from exc
        except (ValueError, TypeError, UnicodeError, binascii.Error) as exc:
            raise SignatureInvalid("The signature cannot be checked.") from exc


BACKEND: Backend = HttpsigBackend()


# Outgoing --------------------------------------------------------------------


def digest(body: bytes) -> str:
    """The Digest header of a body (RFC 3230), SHA-256."""
    return "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode()


def http_date(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC), usegmt=True)


def request_target(url: str) -> tuple[str, str]:
    """The Host header and the path-and-query of a URL, as signed."""
    parts = urlsplit(url)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    return parts.netloc, target


def sign_request(
    key: SigningKey,
    method: str,
    url: str,
    body: bytes | None = None,
    *,
    moment: datetime | None = None,
) -> dict[str, str]:
    """The headers that sign a request: Host, Date, Digest with a body, Signature."""
    host, target = request_target(url)
    headers = {"host": host, "date": http_date(moment or datetime.now(UTC))}
    signed: tuple[str, ...] = SIGNED_GET
    if body is not None:
        headers["digest"] = digest(body)
        signed = SIGNED_POST
    headers["signature"] = BACKEND.signature_header(
        key, signed, method, target, headers
    )
    return headers


# Inbound ---------------------------------------------------------------------


def parse_signature(value: str | None) -> Signature:
    """The parameters of a Signature header; refuses a missing or garbled one."""
    if value is None or not value.strip():
        raise SignatureMissing("The request is not signed (no Signature header).")
    parameters: dict[str, str] = {}
    position = 0
    while position < len(value):
        match = PARAMETER.match(value, position)
        if match is None or match.end() == position:
            raise SignatureMalformed("The Signature header cannot be read.")
        name, quoted, number = match.groups()
        parameters[name] = quoted if quoted is not None else number
        position = match.end()
    return _signature(parameters)


def _signature(parameters: dict[str, str]) -> Signature:
    key_id, signed = parameters.get("keyId"), parameters.get("signature")
    if not key_id or not signed:
        raise SignatureMalformed("The Signature header lacks keyId or signature.")
    algorithm = parameters.get("algorithm", ALGORITHM).lower()
    if algorithm not in ACCEPTED_ALGORITHMS:
        raise SignatureMalformed(
            "Only rsa-sha256 signatures, or hs2019 with an RSA key, are accepted."
        )
    try:
        base64.b64decode(signed, validate=True)
    except binascii.Error as exc:
        raise SignatureMalformed("The signature is not base64.") from exc
    # Without a list, draft-12 §2.1.6 means "(created)", which never covers
    # what we require; check_request says so.
    headers = tuple(parameters.get("headers", "(created)").lower().split())
    created, expires = parameters.get("created"), parameters.get("expires")
    for given in (created, expires):
        if given is not None and not TIMESTAMP.fullmatch(given):
            raise SignatureMalformed("created and expires are Unix times.")
    return Signature(
        key_id=key_id,
        algorithm=algorithm,
        headers=headers,
        signature=signed,
        created=created,
        expires=expires,
    )


def check_request(request: InboundRequest, *, moment: datetime) -> Signature:
    """The request's signature, once all that needs no key is checked.

    The signed headers must cover ``(request-target)``, ``host``, ``date``
    and, when the request has a body (POST), ``digest``; the Date must be
    within an hour of ``moment`` and a signed Digest must match the body.
    """
    signature = parse_signature(request.header("signature"))
    required = SIGNED_POST if request.method.upper() == "POST" else SIGNED_GET
    missing = [name for name in required if name not in signature.headers]
    if missing:
        raise SignatureIncomplete(
            f"The signature must cover {' '.join(required)}; "
            f"it leaves out {' '.join(missing)}."
        )
    absent = [
        name
        for name in signature.headers
        if name not in PSEUDO_HEADERS and request.header(name) is None
    ]
    if absent:
        raise SignatureMalformed(f"Signed headers are absent: {' '.join(absent)}.")
    check_date(request.header("date"), moment)
    check_expiry(signature, moment)
    if "digest" in signature.headers:
        check_digest(request.header("digest"), request.body)
    return signature


def check_date(value: str | None, moment: datetime) -> None:
    if value is None:
        raise SignatureDateRefused("The request has no Date header.")
    try:
        sent = parsedate_to_datetime(value)
    except (TypeError, ValueError) as exc:
        raise SignatureDateRefused("The Date header cannot be read.") from exc
    if sent.tzinfo is None:
        raise SignatureDateRefused("The Date header has no time zone.")
    if abs(moment - sent) > MAX_CLOCK_SKEW:
        raise SignatureDateRefused("The Date header is more than an hour off.")


def check_expiry(signature: Signature, moment: datetime) -> None:
    """Refuses a signature whose (expires) parameter has passed."""
    if signature.expires is None:
        return
    if float(signature.expires) < moment.timestamp():
        raise SignatureDateRefused("The signature has expired.")


def check_digest(value: str | None, body: bytes) -> None:
    """Checks every SHA-256 or SHA-512 digest the header names against the body."""
    if value is None:
        raise DigestMismatch("The request has no Digest header.")
    checked = 0
    for item in value.split(","):
        name, separator, given = item.strip().partition("=")
        algorithm = DIGESTS.get(name.lower())
        if not separator or algorithm is None:
            continue
        expected = base64.b64encode(algorithm(body).digest()).decode()
        if not hmac.compare_digest(expected.encode(), given.strip().encode()):
            raise DigestMismatch("The Digest header does not match the body.")
        checked += 1
    if not checked:
        raise DigestMismatch("The Digest header names no SHA-256 or SHA-512 digest.")


def verify_request(
    request: InboundRequest, signature: Signature, public_pem: str
) -> bool:
    """True when the signature verifies with the key; checked requests only."""
    return BACKEND.verifies(
        public_pem, signature, request.method, request.target, request.headers
    )
