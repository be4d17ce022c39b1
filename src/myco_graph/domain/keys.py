"""The instance's signing keys, made once and shared by all its processes."""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from tortoise.exceptions import IntegrityError

from myco_graph.domain.models import InstanceKey

RECEIPTS = "receipts"

_cache: dict[str, Ed25519PrivateKey] = {}


def _pem(key: Ed25519PrivateKey) -> tuple[str, str]:
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private.decode(), public.decode()


async def signing_key(use: str = RECEIPTS) -> Ed25519PrivateKey:
    """The Ed25519 key for ``use``, made on first need."""
    if use in _cache:
        return _cache[use]
    row = await InstanceKey.get_or_none(use=use)
    if row is None:
        private_pem, public_pem = _pem(Ed25519PrivateKey.generate())
        try:
            row = await InstanceKey.create(
                use=use, private_pem=private_pem, public_pem=public_pem
            )
        except IntegrityError:
            # Another process made it first; theirs is the key.
            row = await InstanceKey.get(use=use)
    key = serialization.load_pem_private_key(row.private_pem.encode(), password=None)
    assert isinstance(key, Ed25519PrivateKey)
    _cache[use] = key
    return key


async def public_key(use: str = RECEIPTS) -> Ed25519PublicKey:
    return (await signing_key(use)).public_key()


def forget_cached_keys() -> None:
    """Drops keys held in memory (a new database means new keys)."""
    _cache.clear()
