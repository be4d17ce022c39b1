"""Consent receipts are signed by the instance and checkable offline (EdDSA)."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from myco_graph.domain import keys, receipts
from myco_graph.domain.models import InstanceKey
from myco_graph.infrastructure.config import Settings
from tests.consent_support import People, grant
from tests.helpers import GraphQLClient

# The Ed25519 key of RFC 8037, appendix A.1: its secret seed and public "x".
RFC_8037_SEED = bytes.fromhex(
    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
)
RFC_8037_X = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"

RECEIPT = {
    "schema": "https://myco-graph.org/ns/consent-receipt/v1",
    "standard": "ISO/IEC TS 27560:2023",
    "receiptId": "https://coop.example/consent-receipts/7",
    "issuedAt": "2026-05-01T12:00:00+00:00",
    "controller": {
        "id": "https://coop.example",
        "name": "coop.example",
        "type": "dpv:DataController",
    },
    "dataSubject": {"id": "acct:alice@coop.example"},
    "personalData": [
        {"field": "music.favoriteGenres", "special": False, "type": "dpv:PersonalData"}
    ],
    "purpose": {"code": "display", "dpv": "dpv:ServiceProvision"},
    "legalBasis": {"id": "eu-gdpr:A6-1-a", "name": "GDPR art. 6(1)(a), consent"},
    "explicit": False,
    "recipients": {"audience": "coop"},
    "consent": {
        "status": "dpv:ConsentGiven",
        "givenAt": "2026-05-01T12:00:00+00:00",
        "validUntil": None,
        "withdrawal": {
            "method": "GraphQL mutation withdrawConsent",
            "endpoint": "https://coop.example/graphql",
            "grantId": 7,
        },
    },
}

# RECEIPT signed once with the RFC 8037 key (kid receipts-1), then written down.
RECEIPT_JWS = (
    "eyJhbGciOiJFZERTQSIsImtpZCI6InJlY2VpcHRzLTEiLCJ0eXAiOiJKV1QifQ."
    "eyJzY2hlbWEiOiJodHRwczovL215Y28tZ3JhcGgub3JnL25zL2NvbnNlbnQtcmVjZWlwdC92MSIs"
    "InN0YW5kYXJkIjoiSVNPL0lFQyBUUyAyNzU2MDoyMDIzIiwicmVjZWlwdElkIjoiaHR0cHM6Ly9j"
    "b29wLmV4YW1wbGUvY29uc2VudC1yZWNlaXB0cy83IiwiaXNzdWVkQXQiOiIyMDI2LTA1LTAxVDEy"
    "OjAwOjAwKzAwOjAwIiwiY29udHJvbGxlciI6eyJpZCI6Imh0dHBzOi8vY29vcC5leGFtcGxlIiwi"
    "bmFtZSI6ImNvb3AuZXhhbXBsZSIsInR5cGUiOiJkcHY6RGF0YUNvbnRyb2xsZXIifSwiZGF0YVN1"
    "YmplY3QiOnsiaWQiOiJhY2N0OmFsaWNlQGNvb3AuZXhhbXBsZSJ9LCJwZXJzb25hbERhdGEiOlt7"
    "ImZpZWxkIjoibXVzaWMuZmF2b3JpdGVHZW5yZXMiLCJzcGVjaWFsIjpmYWxzZSwidHlwZSI6ImRw"
    "djpQZXJzb25hbERhdGEifV0sInB1cnBvc2UiOnsiY29kZSI6ImRpc3BsYXkiLCJkcHYiOiJkcHY6"
    "U2VydmljZVByb3Zpc2lvbiJ9LCJsZWdhbEJhc2lzIjp7ImlkIjoiZXUtZ2RwcjpBNi0xLWEiLCJu"
    "YW1lIjoiR0RQUiBhcnQuIDYoMSkoYSksIGNvbnNlbnQifSwiZXhwbGljaXQiOmZhbHNlLCJyZWNp"
    "cGllbnRzIjp7ImF1ZGllbmNlIjoiY29vcCJ9LCJjb25zZW50Ijp7InN0YXR1cyI6ImRwdjpDb25z"
    "ZW50R2l2ZW4iLCJnaXZlbkF0IjoiMjAyNi0wNS0wMVQxMjowMDowMCswMDowMCIsInZhbGlkVW50"
    "aWwiOm51bGwsIndpdGhkcmF3YWwiOnsibWV0aG9kIjoiR3JhcGhRTCBtdXRhdGlvbiB3aXRoZHJh"
    "d0NvbnNlbnQiLCJlbmRwb2ludCI6Imh0dHBzOi8vY29vcC5leGFtcGxlL2dyYXBocWwiLCJncmFu"
    "dElkIjo3fX19"
    ".hK2Q_HJeMRcbZgxNqXONulK3Yb2q6AyojQkpweg_"
    "GqzsQmmvPJInCtGsyNmSFA5d59j936XXMvkHmxzKpmXmDw"
)


@pytest.fixture
def people(server: str, settings: Settings) -> People:
    return People.of(settings)


@pytest.fixture
async def rfc_8037_key(server: str) -> AsyncIterator[None]:
    """Makes the RFC 8037 key the instance's receipt key for one test."""
    key = Ed25519PrivateKey.from_private_bytes(RFC_8037_SEED)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    await InstanceKey.filter(use=keys.RECEIPTS).delete()
    await InstanceKey.create(
        use=keys.RECEIPTS, private_pem=private.decode(), public_pem=public.decode()
    )
    keys.forget_cached_keys()
    yield
    keys.forget_cached_keys()


def tampered(token: str, **changes: object) -> str:
    """The token with its payload changed and its signature kept."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    forged = json.dumps(claims | changes, separators=(",", ":")).encode()
    encoded = base64.urlsafe_b64encode(forged).rstrip(b"=").decode()
    return f"{header}.{encoded}.{signature}"


async def published_key(api: GraphQLClient) -> jwt.PyJWK:
    jwks = (await api.http.get("/.well-known/jwks.json")).json()
    [key] = jwks["keys"]
    return jwt.PyJWK(key)


async def test_receipt_signed_by_the_instance_verifies_here_and_against_its_jwks(
    api: GraphQLClient, people: People
) -> None:
    alice = await people.token("alice")
    given = await grant(api, alice, ["music.favoriteGenres"], "COOP")
    public = await published_key(api)

    here = await receipts.verify(given["receiptJws"])
    offline = jwt.decode(given["receiptJws"], public, algorithms=["EdDSA"])

    assert here == offline == given["receipt"]
    assert jwt.get_unverified_header(given["receiptJws"])["kid"] == public.key_id


@pytest.mark.usefixtures("rfc_8037_key")
async def test_known_key_signs_a_known_receipt_into_a_known_jws(
    api: GraphQLClient,
) -> None:
    signed = await receipts.sign(RECEIPT)
    public = await published_key(api)

    assert signed == RECEIPT_JWS
    assert public.Algorithm.to_jwk(public.key, as_dict=True)["x"] == RFC_8037_X
    assert await receipts.verify(RECEIPT_JWS) == RECEIPT


async def test_receipt_with_a_changed_payload_fails_verification(
    api: GraphQLClient, people: People
) -> None:
    alice = await people.token("alice")
    given = await grant(api, alice, ["music.favoriteGenres"], "COOP")
    forged = tampered(given["receiptJws"], purpose={"code": "offer_matching"})
    public = await published_key(api)

    with pytest.raises(jwt.InvalidSignatureError):
        await receipts.verify(forged)
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(forged, public, algorithms=["EdDSA"])
