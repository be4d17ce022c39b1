"""The tables of an instance.

Money is always integer cents. Every growing table carries the index its
reads need.
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model


class AccountKind(StrEnum):
    MEMBER = "member"
    BRAND = "brand"
    ADMIN = "admin"


class TokenKind(StrEnum):
    SESSION = "session"
    API = "api"


class Name(Model):
    """One row per taken name: handles and project names share this namespace.

    ``key`` is the case-folded name, so that ``Alice`` and ``alice`` collide
    whatever kind of thing holds them.
    """

    id = fields.BigIntField(primary_key=True)
    key = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "names"


class Account(Model):
    """A member, a brand or an admin: anyone who signs in."""

    id = fields.BigIntField(primary_key=True)
    kind = fields.CharEnumField(AccountKind, max_length=16)
    name: fields.OneToOneRelation[Name] = fields.OneToOneField(
        "models.Name", related_name="account", on_delete=fields.RESTRICT
    )
    handle = fields.CharField(max_length=64)
    display_name = fields.CharField(max_length=100)
    email = fields.CharField(max_length=254, unique=True)
    password_hash = fields.CharField(max_length=200)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "accounts"


class Token(Model):
    """A bearer token: a login session or a brand's API token.

    Only the keyed hash of the token is stored; the token itself is shown once.
    """

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="tokens", on_delete=fields.CASCADE
    )
    kind = fields.CharEnumField(TokenKind, max_length=16)
    label = fields.CharField(max_length=100, default="")
    digest = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "tokens"
        indexes = [Index(fields=["account_id", "kind"])]


class ShareEntry(Model):
    """One line of the share register: shares subscribed by a member.

    When a member erases their account, the line stays with ``account`` set
    to null: the register is a legal record of the cooperative's capital.
    """

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyNullableRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="share_entries", null=True,
        on_delete=fields.SET_NULL,
    )
    shares = fields.IntField()
    unit_price_cents = fields.IntField()
    amount_cents = fields.BigIntField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "share_entries"
        indexes = [Index(fields=["account_id", "id"])]


class Event(Model):
    """What happened, written in the same transaction as the change itself.

    Subscriptions and, later, federation read these; ``payload`` never holds a
    member's personal profile value.
    """

    id = fields.BigIntField(primary_key=True)
    kind = fields.CharField(max_length=64)
    account: fields.ForeignKeyNullableRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="events", null=True,
        on_delete=fields.SET_NULL,
    )
    payload = fields.JSONField(default=dict)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)

    class Meta:
        table = "events"
        indexes = [Index(fields=["account_id", "id"])]
