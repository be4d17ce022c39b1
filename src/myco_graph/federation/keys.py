"""The RSA key pairs this instance's actors sign with, made on first need.

RSA-2048 is what the fediverse verifies (Mastodon, Lemmy, Pleroma all expect
``rsa-sha256`` signatures); the pair is stored as PEM in ``actor_keys``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from tortoise.exceptions import IntegrityError

from myco_graph.domain.models import ActorKey, ActorKind

KEY_SIZE = 2048
PUBLIC_EXPONENT = 65537
# The instance actor is one of a kind; 0 is never an account or project id.
INSTANCE_ACTOR_ID = 0


@dataclass(frozen=True)
class KeyPair:
    private_pem: str
    public_pem: str


def generate_pair() -> KeyPair:
    """A new RSA-2048 pair: PKCS#8 private key, SubjectPublicKeyInfo public key."""
    key = rsa.generate_private_key(public_exponent=PUBLIC_EXPONENT, key_size=KEY_SIZE)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return KeyPair(private.decode(), public.decode())


async def lookup_actor_key(kind: ActorKind, actor_id: int) -> KeyPair:
    """The actor's key pair, made and stored the first time it is asked for.

    Two processes asking at once both generate a pair; the unique constraint
    keeps the first one stored, and the other process reads it back.
    """
    row = await ActorKey.get_or_none(actor_kind=kind, actor_id=actor_id)
    if row is None:
        # Generating takes tens of milliseconds: off the event loop.
        pair = await asyncio.to_thread(generate_pair)
        try:
            row = await ActorKey.create(
                actor_kind=kind,
                actor_id=actor_id,
                private_pem=pair.private_pem,
                public_pem=pair.public_pem,
            )
        except IntegrityError:
            row = await ActorKey.get(actor_kind=kind, actor_id=actor_id)
    return KeyPair(row.private_pem, row.public_pem)


async def lookup_instance_key() -> KeyPair:
    """The instance actor's pair, which signs the fetches the instance makes."""
    return await lookup_actor_key(ActorKind.INSTANCE, INSTANCE_ACTOR_ID)
