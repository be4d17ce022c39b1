"""GraphQL over HTTP, as the GraphQL-over-HTTP specification asks."""

from __future__ import annotations

import httpx
import pytest

from tests.helpers import GRAPHQL_RESPONSE, GraphQLClient, row_counts

SIGN_UP_INLINE = """
mutation {
  signUp(input: {email: "alice@example.org", password: "correct horse battery",
                 handle: "alice", displayName: "Alice"}) { token }
}
"""


async def test_get_runs_a_query(http: httpx.AsyncClient) -> None:
    response = await http.get(
        "/graphql",
        params={"query": "{ viewer { id } }"},
        headers={"accept": "application/json"},
    )

    assert response.status_code == 200
    assert response.json() == {"data": {"viewer": None}}


async def test_get_refuses_a_mutation_with_405(http: httpx.AsyncClient) -> None:
    before = await row_counts()

    response = await http.get(
        "/graphql",
        params={"query": SIGN_UP_INLINE},
        headers={"accept": "application/json"},
    )

    assert response.status_code == 405
    assert await row_counts() == before


async def test_graphql_response_media_type_is_answered_in_kind(
    api: GraphQLClient,
) -> None:
    result = await api("{ viewer { id } }", accept=GRAPHQL_RESPONSE)

    assert result.status == 200
    assert result.headers["content-type"] == GRAPHQL_RESPONSE
    assert result.body == {"data": {"viewer": None}}


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        ("{ viewer { id }", None),
        ("{ nothingHere }", None),
        ("query($n: Int!) { viewer { id } }", {"n": "three"}),
        ("query($n: Int!) { viewer { id } }", None),
    ],
    ids=["parse", "validation", "variable-type", "variable-missing"],
)
async def test_request_errors_are_400_without_data(
    api: GraphQLClient, query: str, variables: dict[str, object] | None
) -> None:
    result = await api(query, variables, accept=GRAPHQL_RESPONSE)

    assert result.status == 400
    assert result.headers["content-type"] == GRAPHQL_RESPONSE
    assert "data" not in result.body
    assert result.codes == ["BAD_USER_INPUT"]


async def test_plain_json_answers_request_errors_with_200(api: GraphQLClient) -> None:
    result = await api("{ nothingHere }", accept="application/json")

    assert result.status == 200
    assert result.headers["content-type"] == "application/json"
    assert result.codes == ["BAD_USER_INPUT"]


async def test_field_errors_keep_status_200_and_data(api: GraphQLClient) -> None:
    result = await api("{ shareRegisterTotals { shares } }", accept=GRAPHQL_RESPONSE)

    assert result.status == 200
    assert result.body["data"] is None
    assert result.codes == ["UNAUTHENTICATED"]


async def test_malformed_graphql_stores_nothing(api: GraphQLClient) -> None:
    before = await row_counts()

    result = await api(SIGN_UP_INLINE + " }")

    assert result.codes == ["BAD_USER_INPUT"]
    assert "Syntax Error" in result.errors[0]["message"]
    assert await row_counts() == before


async def test_invalid_json_body_is_a_400(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/graphql",
        content=b'{"query": "{ viewer { id } }"',
        headers={"content-type": "application/json"},
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT"}


async def test_body_without_a_query_is_a_400(http: httpx.AsyncClient) -> None:
    response = await http.post("/graphql", json={"variables": {}})

    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT"}


async def test_unsupported_content_type_is_refused(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/graphql",
        content=b"{ viewer { id } }",
        headers={"content-type": "text/plain"},
    )

    assert response.status_code in (400, 415)


async def test_graphiql_is_served_to_browsers(http: httpx.AsyncClient) -> None:
    response = await http.get("/graphql", headers={"accept": "text/html"})

    assert response.status_code == 200
    assert "graphiql" in response.text.lower()
