"""Actor keys: RSA-2048, made once per actor on first need, even under a race."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from myco_graph.domain.models import ActorKey, ActorKind
from myco_graph.federation import keys
from myco_graph.federation.signatures import (
    InboundRequest,
    SigningKey,
    check_request,
    sign_request,
    verify_request,
)

pytestmark = pytest.mark.usefixtures("database")


async def test_key_is_made_on_first_need_and_kept() -> None:
    assert await ActorKey.filter(actor_kind=ActorKind.PERSON, actor_id=7).count() == 0

    first = await keys.lookup_actor_key(ActorKind.PERSON, 7)
    again = await keys.lookup_actor_key(ActorKind.PERSON, 7)

    assert first == again
    assert await ActorKey.filter(actor_kind=ActorKind.PERSON, actor_id=7).count() == 1


async def test_concurrent_first_needs_agree_on_one_key() -> None:
    pairs = await asyncio.gather(
        *(keys.lookup_actor_key(ActorKind.GROUP, 3) for _ in range(4))
    )

    assert len({pair.public_pem for pair in pairs}) == 1
    assert await ActorKey.filter(actor_kind=ActorKind.GROUP, actor_id=3).count() == 1


async def test_each_actor_has_its_own_key() -> None:
    person = await keys.lookup_actor_key(ActorKind.PERSON, 1)
    group = await keys.lookup_actor_key(ActorKind.GROUP, 1)
    instance = await keys.lookup_instance_key()

    assert len({person.public_pem, group.public_pem, instance.public_pem}) == 3


async def test_key_is_rsa_2048() -> None:
    pair = await keys.lookup_instance_key()

    public = serialization.load_pem_public_key(pair.public_pem.encode())

    assert isinstance(public, rsa.RSAPublicKey)
    assert public.key_size == 2048


async def test_stored_pair_signs_and_verifies() -> None:
    pair = await keys.lookup_actor_key(ActorKind.PERSON, 9)
    key = SigningKey("http://coop.test/users/alice#main-key", pair.private_pem)
    headers = sign_request(key, "POST", "https://peer.example/inbox", b"{}")
    request = InboundRequest("POST", "/inbox", headers, b"{}")

    signature = check_request(request, moment=datetime.now(UTC))

    assert verify_request(request, signature, pair.public_pem)
