"""A small demo cooperative, for trying the server out."""

from __future__ import annotations

import random
from collections.abc import Callable

from myco_graph.domain import accounts, shares
from myco_graph.domain.models import Account, AccountKind

DEMO_PASSWORD = "demo-password"  # noqa: S105  (published on purpose: demo data)
FIRST_NAMES = ["Camille", "Louis", "Jade", "Hugo", "Léa", "Noah", "Inès", "Malo"]


async def load_demo(members: int, advance: Callable[[int], None]) -> None:
    """Creates members with shares and one brand; skips what already exists."""
    chooser = random.Random(members)  # noqa: S311  (the same demo every time)
    for number in range(1, members + 1):
        handle = f"demo_member_{number}"
        if not await Account.exists(handle=handle):
            account = await accounts.sign_up(
                accounts.SignUp(
                    email=f"{handle}@example.org",
                    password=DEMO_PASSWORD,
                    handle=handle,
                    display_name=f"{chooser.choice(FIRST_NAMES)} {number}",
                )
            )
            await shares.subscribe(account, chooser.randint(1, 20))
        advance(1)
    if not await Account.exists(handle="demo_brand"):
        await accounts.sign_up(
            accounts.SignUp(
                email="demo_brand@example.org",
                password=DEMO_PASSWORD,
                handle="demo_brand",
                display_name="Demo Brand",
                kind=AccountKind.BRAND,
            )
        )
    advance(1)
