"""Logs at DEBUG carry the request id and never a password, token or email."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from myco_graph.infrastructure.logs import configure_logging
from tests.helpers import PASSWORD, GraphQLClient


@pytest.fixture
def debug_logs(capsys: pytest.CaptureFixture[str]) -> Iterator[None]:
    """Configures logging at DEBUG for one test, then puts everything back."""
    loggers = [logging.getLogger(name) for name in logging.root.manager.loggerDict]
    saved = {logger.name: logger.level for logger in loggers}
    root = logging.getLogger()
    saved_root = root.level, list(root.handlers)
    yield
    root.handlers[:] = saved_root[1]
    root.setLevel(saved_root[0])
    for name, level in saved.items():
        logging.getLogger(name).setLevel(level)


async def sign_up_log_in_and_subscribe(api: GraphQLClient) -> list[str]:
    """Returns the secrets that went over the wire."""
    first = await api.sign_up("alice", email="alice@example.org")
    second = await api.log_in("alice@example.org")
    await api.subscribe_shares(second, 3)
    await api("{ viewer { email } }", token=second)
    return [first, second]


@pytest.mark.usefixtures("debug_logs")
@pytest.mark.parametrize("fmt", ["text", "json"])
async def test_debug_logs_hold_no_password_token_or_email(
    api: GraphQLClient, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    configure_logging("DEBUG", fmt)

    tokens = await sign_up_log_in_and_subscribe(api)

    output = capsys.readouterr().err
    assert "request done" in output
    for secret in [PASSWORD, "alice@example.org", *tokens]:
        assert secret not in output


@pytest.mark.usefixtures("debug_logs")
async def test_json_logs_carry_the_request_id(
    api: GraphQLClient, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("DEBUG", "json")

    response = await api.http.get("/healthz", headers={"x-request-id": "abc123"})

    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    [done] = [line for line in lines if line["message"] == "request done"]
    assert response.status_code == 200
    assert done["request_id"] == "abc123"
    assert done["level"] == "DEBUG"
