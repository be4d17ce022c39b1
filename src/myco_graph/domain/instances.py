"""Remote instances an admin blocks: nothing is taken from them at the inboxes."""

from __future__ import annotations

import re

from tortoise.exceptions import IntegrityError

from myco_graph.domain.models import BlockedInstance
from myco_graph.errors import BadUserInput

LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
DOMAIN = re.compile(rf"{LABEL}(\.{LABEL})+")


def normalized(domain: str) -> str:
    """The domain as blocks store it: lower case, IDNA, no scheme or port."""
    try:
        ascii_domain = domain.strip().rstrip(".").encode("idna").decode().lower()
    except UnicodeError:
        ascii_domain = ""
    if len(ascii_domain) > 253 or not DOMAIN.fullmatch(ascii_domain):
        raise BadUserInput(
            "Give a domain name such as coop.example.org (no scheme, no port).",
            field="domain",
        )
    return ascii_domain


async def block(domain: str) -> BlockedInstance:
    """Blocks a domain and its subdomains; blocking twice keeps the first block."""
    key = normalized(domain)
    existing = await BlockedInstance.get_or_none(domain=key)
    if existing is not None:
        return existing
    try:
        return await BlockedInstance.create(domain=key)
    except IntegrityError:
        # Another admin blocked it at the same moment.
        return await BlockedInstance.get(domain=key)


async def unblock(domain: str) -> bool:
    """Lifts a block; False when there was none."""
    return bool(await BlockedInstance.filter(domain=normalized(domain)).delete())
