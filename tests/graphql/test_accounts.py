from __future__ import annotations

from tests.helpers import GraphQLClient

VIEWER = "{ viewer { handle accountType ... on Member { shares { shares votes } } } }"


async def test_signed_up_member_is_the_viewer(api: GraphQLClient) -> None:
    token = await api.sign_up("alice")

    result = await api(VIEWER, token=token)

    assert result.data["viewer"] == {
        "handle": "alice",
        "accountType": "MEMBER",
        "shares": {"shares": 0, "votes": 0},
    }
