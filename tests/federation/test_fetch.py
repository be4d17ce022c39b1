"""Remote fetches against a peer on 127.0.0.1, and the addresses never fetched."""

from __future__ import annotations

import ipaddress
import json
import socket
from datetime import UTC, datetime

import pytest

from myco_graph.errors import (
    FetchRefused,
    RemoteInvalid,
    RemoteTooLarge,
    RemoteUnavailable,
)
from myco_graph.federation.fetch import Limits, fetch, is_public
from myco_graph.federation.signatures import (
    InboundRequest,
    check_request,
    verify_request,
)
from myco_graph.infrastructure.config import Settings
from tests.federation.conftest import PEER_PUBLIC_PEM, Answer, Peer

DOCUMENT = {"id": "https://peer.example/notes/1", "type": "Note"}


async def test_fetch_reads_a_json_document(
    peer: Peer, loopback_settings: Settings
) -> None:
    peer.answer_json("/notes/1", DOCUMENT)

    document = await fetch(f"{peer.url}/notes/1", loopback_settings)

    assert document == DOCUMENT
    assert "application/activity+json" in peer.received[0].headers["accept"]


async def test_fetch_leaves_the_fragment_home(
    peer: Peer, loopback_settings: Settings
) -> None:
    peer.answer_json("/users/zoe", DOCUMENT)

    await fetch(f"{peer.url}/users/zoe#main-key", loopback_settings)

    assert peer.received[0].target == "/users/zoe"


async def test_signed_fetch_verifies_at_the_peer(
    peer: Peer, loopback_settings: Settings
) -> None:
    peer.answer_json("/notes/1", DOCUMENT)

    await fetch(f"{peer.url}/notes/1?page=2", loopback_settings, key=peer.signing_key())

    received = peer.received[0]
    request = InboundRequest("GET", received.target, received.headers)
    signature = check_request(request, moment=datetime.now(UTC))
    assert signature.key_id == peer.key_id
    assert received.headers["host"] == peer.host
    assert verify_request(request, signature, PEER_PUBLIC_PEM)


# Addresses and schemes never fetched ------------------------------------------


async def test_plain_http_is_refused_without_the_setting(
    peer: Peer, settings: Settings
) -> None:
    peer.answer_json("/notes/1", DOCUMENT)

    with pytest.raises(FetchRefused):
        await fetch(f"{peer.url}/notes/1", settings)

    assert peer.received == []


async def test_loopback_over_https_is_refused_without_the_setting(
    peer: Peer, settings: Settings
) -> None:
    url = peer.url.replace("http://", "https://") + "/notes/1"

    with pytest.raises(FetchRefused):
        await fetch(url, settings)

    assert peer.received == []


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/",
        "https://localhost/",
        "https://10.1.2.3/",
        "https://172.16.0.1/",
        "https://192.168.1.1/",
        "https://169.254.169.254/latest/meta-data/",
        "https://100.64.0.1/",
        "https://0.0.0.0/",
        "https://224.0.0.1/",
        "https://[::1]/",
        "https://[fe80::1]/",
        "https://[fd00::1]/",
        "https://[::ffff:127.0.0.1]/",
        "https://[2002:7f00:1::]/",
    ],
)
async def test_private_and_reserved_addresses_are_refused(
    url: str, settings: Settings
) -> None:
    with pytest.raises(FetchRefused):
        await fetch(url, settings)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://peer.example/actor",
        "file:///etc/passwd",
        "gopher://peer.example/",
        "https://user:secret@peer.example/actor",
        "https:///actor",
    ],
)
async def test_other_schemes_and_odd_urls_are_refused(
    url: str, loopback_settings: Settings
) -> None:
    with pytest.raises(FetchRefused):
        await fetch(url, loopback_settings)


async def test_plain_http_stays_refused_off_loopback(
    loopback_settings: Settings,
) -> None:
    with pytest.raises(FetchRefused):
        await fetch("http://10.1.2.3/actor", loopback_settings)


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.215.14", True),
        ("2606:4700:4700::1111", True),
        ("127.0.0.1", False),
        ("10.0.0.1", False),
        ("::ffff:10.0.0.1", False),
        ("2001:db8::1", False),
    ],
)
def test_public_addresses_are_told_apart(address: str, public: bool) -> None:
    assert is_public(ipaddress.ip_address(address)) is public


# What the remote side does wrong ------------------------------------------------


async def test_slow_peer_times_out(peer: Peer, loopback_settings: Settings) -> None:
    peer.answer("/slow", Answer(body=b"{}", delay=2.0))

    with pytest.raises(RemoteUnavailable, match="in time"):
        await fetch(f"{peer.url}/slow", loopback_settings, limits=Limits(seconds=0.3))


async def test_declared_oversize_body_is_refused(
    peer: Peer, loopback_settings: Settings
) -> None:
    peer.answer_json("/big", {"padding": "x" * 5_000})

    with pytest.raises(RemoteTooLarge):
        await fetch(
            f"{peer.url}/big", loopback_settings, limits=Limits(max_bytes=1_000)
        )


async def test_streamed_oversize_body_is_cut_off(
    peer: Peer, loopback_settings: Settings
) -> None:
    body = json.dumps({"padding": "x" * 5_000}).encode()
    peer.answer("/big", Answer(body=body, chunks=10))

    with pytest.raises(RemoteTooLarge):
        await fetch(
            f"{peer.url}/big", loopback_settings, limits=Limits(max_bytes=1_000)
        )


@pytest.mark.parametrize("status", [404, 410, 500])
async def test_error_status_is_unavailable(
    status: int, peer: Peer, loopback_settings: Settings
) -> None:
    peer.answer("/gone", Answer(body=b"{}", status=status))

    with pytest.raises(RemoteUnavailable) as raised:
        await fetch(f"{peer.url}/gone", loopback_settings)

    assert raised.value.status == status


@pytest.mark.parametrize(
    ("body", "media_type"),
    [
        (b"<html>hello</html>", "text/html"),
        (b"{not json", "application/activity+json"),
        (b"[1, 2]", "application/activity+json"),
    ],
)
async def test_documents_that_are_not_json_objects_are_invalid(
    body: bytes, media_type: str, peer: Peer, loopback_settings: Settings
) -> None:
    peer.answer("/odd", Answer(body=body, media_type=media_type))

    with pytest.raises(RemoteInvalid):
        await fetch(f"{peer.url}/odd", loopback_settings)


async def test_redirect_is_followed_and_checked_again(
    peer: Peer, loopback_settings: Settings
) -> None:
    peer.answer("/old", Answer(status=301, headers={"location": "/new"}))
    peer.answer_json("/new", DOCUMENT)

    document = await fetch(f"{peer.url}/old", loopback_settings)

    assert document == DOCUMENT
    assert [received.target for received in peer.received] == ["/old", "/new"]


async def test_redirect_to_a_refused_url_is_refused(
    peer: Peer, loopback_settings: Settings
) -> None:
    peer.answer("/old", Answer(status=302, headers={"location": "http://10.1.2.3/"}))

    with pytest.raises(FetchRefused):
        await fetch(f"{peer.url}/old", loopback_settings)


async def test_endless_redirects_give_up(
    peer: Peer, loopback_settings: Settings
) -> None:
    peer.answer("/loop", Answer(status=302, headers={"location": "/loop"}))

    with pytest.raises(RemoteUnavailable, match="redirects"):
        await fetch(f"{peer.url}/loop", loopback_settings)

    assert len(peer.received) == 4


async def test_closed_port_is_unavailable(loopback_settings: Settings) -> None:
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()

    with pytest.raises(RemoteUnavailable, match="cannot be reached"):
        await fetch(f"http://127.0.0.1:{port}/actor", loopback_settings)
