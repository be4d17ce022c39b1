"""Consent receipts: machine-readable records of a grant, signed by the instance.

The document follows the shape of ISO/IEC TS 27560 (consent record
information structure) with W3C Data Privacy Vocabulary terms. It is signed
as a compact JWS (EdDSA, Ed25519) whose payload is the document itself, so a
member can check it offline against the instance's public key, published at
``/.well-known/jwks.json``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import jwt
from jwt.algorithms import OKPAlgorithm

from myco_graph.domain import catalogue, keys
from myco_graph.domain.models import Account, Audience, ConsentGrant, Purpose

DPV_PURPOSES: dict[Purpose, str] = {
    Purpose.DISPLAY: "dpv:ServiceProvision",
    Purpose.PROJECT_COLLABORATION: "dpv:ServiceProvision",
    Purpose.OFFER_MATCHING: "dpv:PersonalisedAdvertising",
    Purpose.LEAD_DISCLOSURE: "dpv:Marketing",
    Purpose.SURVEY_TARGETING: "dpv:CommercialResearch",
    Purpose.RESEARCH: "dpv:ResearchAndDevelopment",
}

CONSENT_BASIS = {"id": "eu-gdpr:A6-1-a", "name": "GDPR art. 6(1)(a), consent"}
EXPLICIT_BASIS = {
    "id": "eu-gdpr:A9-2-a",
    "name": "GDPR art. 9(2)(a), explicit consent",
}
KEY_ID = "receipts-1"


def legal_basis(field_keys: list[str]) -> dict[str, str]:
    special = any(catalogue.FIELDS[key].special for key in field_keys)
    return EXPLICIT_BASIS if special else CONSENT_BASIS


def _when(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def document(
    grant: ConsentGrant, subject: Account, *, base_url: str, domain: str
) -> dict[str, Any]:
    """The receipt of a grant, before signing."""
    return {
        "schema": "https://myco-graph.org/ns/consent-receipt/v1",
        "standard": "ISO/IEC TS 27560:2023",
        "receiptId": f"{base_url}/consent-receipts/{grant.id}",
        "issuedAt": _when(grant.created_at),
        "controller": {"id": base_url, "name": domain, "type": "dpv:DataController"},
        "dataSubject": {"id": f"acct:{subject.handle}@{domain}"},
        "personalData": [
            {
                "field": key,
                "special": catalogue.FIELDS[key].special,
                "type": (
                    "dpv:SpecialCategoryPersonalData"
                    if catalogue.FIELDS[key].special
                    else "dpv:PersonalData"
                ),
            }
            for key in grant.field_keys
        ],
        "purpose": {"code": grant.purpose.value, "dpv": DPV_PURPOSES[grant.purpose]},
        "legalBasis": legal_basis(grant.field_keys),
        "explicit": grant.explicit,
        "recipients": recipients(grant.audience, grant.audience_id),
        "consent": {
            "status": "dpv:ConsentGiven",
            "givenAt": _when(grant.created_at),
            "validUntil": _when(grant.expires_at),
            "withdrawal": {
                "method": "GraphQL mutation withdrawConsent",
                "endpoint": f"{base_url}/graphql",
                "grantId": grant.id,
            },
        },
    }


def recipients(audience: Audience, audience_id: int | None) -> dict[str, Any]:
    described = {"audience": audience.value}
    if audience_id is not None:
        described["id"] = str(audience_id)
    return described


async def sign(receipt: dict[str, Any]) -> str:
    key = await keys.signing_key(keys.RECEIPTS)
    return jwt.encode(receipt, key, algorithm="EdDSA", headers={"kid": KEY_ID})


async def verify(token: str) -> dict[str, Any]:
    """The receipt inside a JWS, if this instance signed it; raises otherwise."""
    public = await keys.public_key(keys.RECEIPTS)
    return jwt.decode(token, public, algorithms=["EdDSA"])


async def jwks() -> dict[str, Any]:
    """The public key set members use to check receipts offline."""
    jwk = OKPAlgorithm.to_jwk(await keys.public_key(keys.RECEIPTS), as_dict=True)
    return {"keys": [{**jwk, "kid": KEY_ID, "use": "sig", "alg": "EdDSA"}]}
