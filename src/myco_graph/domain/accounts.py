"""Accounts and bearer tokens: signing up, logging in and out, API tokens."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from myco_graph.domain import events, names
from myco_graph.domain.models import Account, AccountKind, Token, TokenKind
from myco_graph.errors import BadUserInput, Forbidden, NotFound, Unauthenticated
from myco_graph.infrastructure import sql

EMAIL_PATTERN = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]+")
PASSWORD_MIN, PASSWORD_MAX = 10, 512

_hasher = PasswordHasher()  # argon2id with the library's current parameters
# Verifying against this when no account matches keeps both paths equally slow.
_ABSENT_HASH = _hasher.hash(secrets.token_urlsafe(16))


def now() -> datetime:
    return datetime.now(UTC)


@functools.cache
def _token_and_account() -> sql.Statement:
    """Every request with a token reads it with its account: written by hand.

    Made on first use: the models know their relations' columns only once
    the ORM has started.
    """
    return sql.Statement(f"""
SELECT {sql.columns(Token, "t")}, {sql.columns(Account, "a")}
FROM tokens t JOIN accounts a ON a.id = t.account_id
WHERE t.digest = $1
""")  # noqa: S608


@dataclass(frozen=True)
class TokenIssuer:
    """Makes and recognises bearer tokens; only keyed digests are stored."""

    secret: bytes
    session_ttl: timedelta

    def digest(self, token: str) -> str:
        return hmac.new(self.secret, token.encode(), hashlib.sha256).hexdigest()

    async def issue(
        self, account: Account, kind: TokenKind, label: str = ""
    ) -> tuple[str, Token]:
        prefix = "myco_s_" if kind is TokenKind.SESSION else "myco_a_"
        token = prefix + secrets.token_urlsafe(32)
        expires = now() + self.session_ttl if kind is TokenKind.SESSION else None
        row = await Token.create(
            account=account,
            kind=kind,
            label=label,
            digest=self.digest(token),
            expires_at=expires,
        )
        return token, row

    async def authenticate(self, token: str) -> tuple[Account, Token]:
        """The account behind ``token``; Unauthenticated when it is not valid."""
        rows = await sql.fetch(_token_and_account(), self.digest(token))
        if not rows:
            raise Unauthenticated("The token is not valid.")
        row = sql.model_from(Token, rows[0])
        if row.revoked_at is not None:
            raise Unauthenticated("The token was revoked.")
        if row.expires_at is not None and row.expires_at <= now():
            raise Unauthenticated("The token has expired.")
        return sql.model_from(Account, rows[0], sql.width(Token)), row


@dataclass(frozen=True)
class SignUp:
    email: str
    password: str
    handle: str
    display_name: str
    kind: AccountKind = AccountKind.MEMBER


def _checked(form: SignUp) -> SignUp:
    email = form.email.strip().lower()
    if len(email) > 254 or not EMAIL_PATTERN.fullmatch(email):
        raise BadUserInput("This is not an email address.", field="email")
    if not PASSWORD_MIN <= len(form.password) <= PASSWORD_MAX:
        raise BadUserInput(
            f"A password has {PASSWORD_MIN} to {PASSWORD_MAX} characters.",
            field="password",
        )
    names.check_name(form.handle, field="handle")
    display_name = " ".join(form.display_name.split())
    if not 1 <= len(display_name) <= 100:
        raise BadUserInput(
            "A display name has 1 to 100 characters.", field="displayName"
        )
    return SignUp(email, form.password, form.handle, display_name, form.kind)


async def sign_up(form: SignUp) -> Account:
    """Creates an account; the handle and email must be free in any case."""
    form = _checked(form)
    password_hash = await asyncio.to_thread(_hasher.hash, form.password)
    async with in_transaction() as conn:
        name = await names.claim(conn, form.handle, field="handle")
        try:
            account = await Account.create(
                kind=form.kind,
                name=name,
                handle=form.handle,
                display_name=form.display_name,
                email=form.email,
                password_hash=password_hash,
                using_db=conn,
            )
        except IntegrityError as exc:
            raise BadUserInput(
                "An account with this email already exists.", field="email"
            ) from exc
        event = await events.record(conn, "account.created", account_id=account.id)
    await events.announce(event)
    return account


async def check_password(email: str, password: str) -> Account:
    """The account with these credentials, or Unauthenticated."""
    account = await Account.filter(email=email.strip().lower()).first()
    stored = account.password_hash if account else _ABSENT_HASH
    try:
        await asyncio.to_thread(_hasher.verify, stored, password[:PASSWORD_MAX])
    except (VerificationError, InvalidHashError):
        account = None
    if account is None:
        raise Unauthenticated("The email or the password is wrong.")
    if _hasher.check_needs_rehash(account.password_hash):
        account.password_hash = await asyncio.to_thread(_hasher.hash, password)
        await account.save(update_fields=["password_hash"])
    return account


async def revoke(token: Token) -> None:
    if token.revoked_at is None:
        token.revoked_at = now()
        await token.save(update_fields=["revoked_at"])


async def end_sessions(account: Account, current: Token, *, everywhere: bool) -> int:
    """Revokes the current session, or every live session of the account."""
    if not everywhere:
        await revoke(current)
        return 1
    return await Token.filter(
        account_id=account.id, kind=TokenKind.SESSION, revoked_at__isnull=True
    ).update(revoked_at=now())


async def create_api_token(
    issuer: TokenIssuer, account: Account, label: str
) -> tuple[str, Token]:
    """A brand's long-lived API token; shown once, revocable at any time."""
    if account.kind is not AccountKind.BRAND:
        raise Forbidden("Only brand accounts create API tokens.")
    label = label.strip()
    if not 1 <= len(label) <= 100:
        raise BadUserInput("A token label has 1 to 100 characters.", field="label")
    return await issuer.issue(account, TokenKind.API, label)


async def revoke_api_token(account: Account, token_id: int) -> Token:
    token = await Token.filter(
        id=token_id, account_id=account.id, kind=TokenKind.API
    ).first()
    if token is None:
        raise NotFound("No such API token.")
    await revoke(token)
    return token


async def purge_tokens(older_than: timedelta) -> int:
    """Deletes tokens that expired or were revoked before ``older_than`` ago."""
    cutoff = now() - older_than
    expired = await Token.filter(expires_at__lt=cutoff).delete()
    revoked = await Token.filter(revoked_at__lt=cutoff).delete()
    return expired + revoked
