"""A project's discussion: messages with mentions and links."""

from __future__ import annotations

import re
from typing import cast

from tortoise.transactions import in_transaction

from myco_graph.domain import events
from myco_graph.domain.accounts import now
from myco_graph.domain.models import Account, Message, Project
from myco_graph.domain.names import name_key
from myco_graph.errors import BadUserInput, Forbidden, NotFound

BODY_MAX = 5_000
MENTION = re.compile(r"(?<![\w@])@([A-Za-z0-9_]{3,30})\b")
LINK = re.compile(r"https?://[^\s<>\"']+")
MAX_LINKS = 20
# Punctuation that ends the sentence around a link rather than the link.
SENTENCE_END = ".,;:!?"


def _body(body: str) -> str:
    body = body.strip()
    if not 1 <= len(body) <= BODY_MAX:
        raise BadUserInput(f"A message has 1 to {BODY_MAX} characters.", field="body")
    return body


async def _mentions(body: str) -> list[int]:
    """Ids of the local accounts named with ``@handle`` in the body."""
    keys = {name_key(handle) for handle in MENTION.findall(body)}
    if not keys:
        return []
    rows = await Account.filter(name__key__in=keys).values_list("id", flat=True)
    return sorted(int(cast(int, row)) for row in rows)


def _link(found: str) -> str:
    """A link without the punctuation of the sentence it was written in."""
    link = found.rstrip(SENTENCE_END)
    # A closing parenthesis is the link's own only if the link opened it, as
    # in "(see https://en.wikipedia.org/wiki/Truffle_(fungus))".
    while link.endswith(")") and link.count(")") > link.count("("):
        link = link[:-1].rstrip(SENTENCE_END)
    return link


def _links(body: str) -> list[str]:
    links = [_link(found) for found in LINK.findall(body)]
    kept = [link for link in links if LINK.fullmatch(link)]
    return list(dict.fromkeys(kept))[:MAX_LINKS]


async def post(project: Project, author: Account, body: str) -> Message:
    body = _body(body)
    mentions = await _mentions(body)
    async with in_transaction() as conn:
        message = await Message.create(
            project=project,
            author=author,
            body=body,
            mentions=mentions,
            links=_links(body),
            using_db=conn,
        )
        event = await events.record(
            conn,
            "message.created",
            account_id=author.id,
            project_id=project.id,
            payload={"message": message.id},
        )
    await events.announce(event)
    return message


async def _own_message(author: Account, message_id: int) -> Message:
    message = await Message.get_or_none(id=message_id, deleted_at__isnull=True)
    if message is None:
        raise NotFound("No such message.")
    if message.author_id != author.id:
        raise Forbidden("Only its author changes a message.")
    return message


async def edit(author: Account, message_id: int, body: str) -> Message:
    message = await _own_message(author, message_id)
    message.body = _body(body)
    message.mentions = await _mentions(message.body)
    message.links = _links(message.body)
    message.edited_at = now()
    await _save(message, "message.edited", author.id)
    return message


async def delete(author: Account, message_id: int) -> Message:
    """The author deletes a message; its place in the thread stays, empty."""
    message = await _own_message(author, message_id)
    return await _blank(message, "message.deleted", author.id, by_admin=False)


async def remove(message: Message, admin: Account) -> Message:
    """A project admin removes someone's message."""
    if message.deleted_at is not None:
        return message
    return await _blank(message, "message.removed", admin.id, by_admin=True)


async def _blank(
    message: Message, kind: str, actor_id: int, *, by_admin: bool
) -> Message:
    message.body, message.mentions, message.links = "", [], []
    message.deleted_at = now()
    message.removed_by_admin = by_admin
    await _save(message, kind, actor_id)
    return message


async def _save(message: Message, kind: str, actor_id: int) -> None:
    async with in_transaction() as conn:
        await message.save(using_db=conn)
        event = await events.record(
            conn,
            kind,
            account_id=actor_id,
            project_id=message.project_id,
            payload={"message": message.id},
        )
    await events.announce(event)
