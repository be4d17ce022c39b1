"""Remote fetches: the one way this instance reads another instance's documents.

A fetch goes over https to hosts whose every address is public: loopback,
private, link-local, shared, documentation and other special-purpose ranges
(RFC 6890) are refused, including IPv4 addresses wrapped in IPv6. The request
then connects to the very address that was checked, with the host name kept
for the Host header and for TLS (SNI and the certificate check), so a second,
different DNS answer cannot send it elsewhere. Redirects are followed by hand
and checked again. One timeout bounds the whole fetch, a limit bounds the body.

``federation_allow_private_addresses`` lifts the address check, and allows
plain http to loopback, for tests that play the remote party on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit, urlunsplit

import httpx
import orjson

from myco_graph.errors import (
    FetchRefused,
    RemoteInvalid,
    RemoteTooLarge,
    RemoteUnavailable,
)
from myco_graph.federation.signatures import SigningKey, sign_request
from myco_graph.federation.software import USER_AGENT
from myco_graph.infrastructure.config import Settings

log = logging.getLogger(__name__)

ACTIVITY_ACCEPT = (
    "application/activity+json, "
    'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
)
MAX_REDIRECTS = 3
REDIRECTS = frozenset({301, 302, 303, 307, 308})
DEFAULT_PORTS = {"https": 443, "http": 80}

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Limits:
    """How long a whole fetch may take, and how large a body may be."""

    seconds: float = 10.0
    max_bytes: int = 1_000_000


@dataclass(frozen=True)
class Target:
    """Where one request goes: the checked address, and the names it keeps."""

    url: str
    connect_url: str
    host: str
    hostname: str
    tls: bool

    @property
    def extensions(self) -> dict[str, Any]:
        return {"sni_hostname": self.hostname} if self.tls else {}


async def fetch(
    url: str,
    settings: Settings,
    *,
    key: SigningKey | None = None,
    accept: str = ACTIVITY_ACCEPT,
    limits: Limits = Limits(),
) -> dict[str, Any]:
    """The JSON object at ``url``, fetched safely; signed with ``key`` when given.

    Raises FetchRefused before connecting anywhere it must not, and
    RemoteUnavailable, RemoteTooLarge or RemoteInvalid for what the remote
    side does wrong.
    """
    host = urlsplit(url).hostname or "?"
    try:
        async with asyncio.timeout(limits.seconds):
            async with httpx.AsyncClient(
                timeout=limits.seconds, follow_redirects=False, trust_env=False
            ) as client:
                return await _follow(
                    client, url, settings, key, accept, limits.max_bytes
                )
    except TimeoutError as exc:
        _log_failure(url, "timeout")
        raise RemoteUnavailable(f"{host} did not answer in time.") from exc
    except httpx.InvalidURL as exc:
        raise FetchRefused("This URL cannot be fetched.") from exc
    except httpx.TimeoutException as exc:
        _log_failure(url, "timeout")
        raise RemoteUnavailable(f"{host} did not answer in time.") from exc
    except httpx.HTTPError as exc:
        _log_failure(url, type(exc).__name__)
        raise RemoteUnavailable(f"{host} cannot be reached.") from exc


def _log_failure(url: str, reason: str) -> None:
    log.info(
        "remote fetch failed",
        extra={"remote_host": urlsplit(url).hostname, "url": url, "reason": reason},
    )


async def _follow(
    client: httpx.AsyncClient,
    url: str,
    settings: Settings,
    key: SigningKey | None,
    accept: str,
    max_bytes: int,
) -> dict[str, Any]:
    current = urldefrag(url).url
    for _ in range(MAX_REDIRECTS + 1):
        target = await resolve_target(
            current, allow_private=settings.federation_allow_private_addresses
        )
        headers = {"accept": accept, "user-agent": USER_AGENT, "host": target.host}
        if key is not None:
            headers |= sign_request(key, "GET", target.url)
        request = client.build_request(
            "GET", target.connect_url, headers=headers, extensions=target.extensions
        )
        response = await client.send(request, stream=True)
        try:
            location = response.headers.get("location")
            if response.status_code in REDIRECTS and location:
                current = urldefrag(urljoin(current, location)).url
                continue
            if not 200 <= response.status_code < 300:
                _log_failure(current, f"status {response.status_code}")
                raise RemoteUnavailable(
                    f"{target.hostname} answered {response.status_code}.",
                    status=response.status_code,
                )
            body = await _read(response, max_bytes)
        finally:
            await response.aclose()
        log.debug("fetched remote document", extra={"url": current})
        return _document(response, body)
    raise RemoteUnavailable(f"More than {MAX_REDIRECTS} redirects.")


async def resolve_target(url: str, *, allow_private: bool) -> Target:
    """Where a request for ``url`` may connect; FetchRefused if nowhere."""
    parts = urlsplit(url)
    if parts.scheme not in DEFAULT_PORTS:
        raise FetchRefused("Only https URLs are fetched.")
    if parts.scheme == "http" and not allow_private:
        raise FetchRefused("Only https URLs are fetched.")
    if parts.username is not None or parts.password is not None:
        raise FetchRefused("URLs with credentials are not fetched.")
    hostname = parts.hostname
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
    except ValueError as exc:
        raise FetchRefused("The URL's port is not a number.") from exc
    if not hostname:
        raise FetchRefused("The URL names no host.")
    addresses = await addresses_of(hostname, port)
    if not allow_private and not all(is_public(address) for address in addresses):
        raise FetchRefused(f"{hostname} has a private or reserved address.")
    if parts.scheme == "http" and not all(
        unwrapped(address).is_loopback for address in addresses
    ):
        raise FetchRefused("Plain http is fetched from loopback addresses only.")
    address = addresses[0]
    literal = f"[{address}]" if address.version == 6 else str(address)
    connect = parts._replace(netloc=f"{literal}:{port}", fragment="")
    return Target(
        url=urlunsplit(parts._replace(fragment="")),
        connect_url=urlunsplit(connect),
        host=parts.netloc,
        hostname=hostname,
        tls=parts.scheme == "https",
    )


async def addresses_of(hostname: str, port: int) -> list[Address]:
    """The addresses a host name resolves to, in the resolver's order."""
    try:
        return [ipaddress.ip_address(hostname)]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise RemoteUnavailable(f"{hostname} cannot be resolved.") from exc
    found = [ipaddress.ip_address(info[4][0]) for info in infos]
    if not found:
        raise RemoteUnavailable(f"{hostname} cannot be resolved.")
    return list(dict.fromkeys(found))


def unwrapped(address: Address) -> Address:
    """The IPv4 address inside an IPv4-mapped, 6to4 or Teredo IPv6 address."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.sixtofour is not None:
            return address.sixtofour
        if address.teredo is not None:
            return address.teredo[1]
    return address


def is_public(address: Address) -> bool:
    """True for a globally routable unicast address."""
    for candidate in (address, unwrapped(address)):
        if not candidate.is_global or candidate.is_multicast:
            return False
    return True


async def _read(response: httpx.Response, max_bytes: int) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise RemoteTooLarge(f"The response is larger than {max_bytes} bytes.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise RemoteTooLarge(f"The response is larger than {max_bytes} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


def _document(response: httpx.Response, body: bytes) -> dict[str, Any]:
    media = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if not media.endswith("json"):
        raise RemoteInvalid("The response is not JSON.")
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise RemoteInvalid("The response is not valid JSON.") from exc
    if not isinstance(document, dict):
        raise RemoteInvalid("The response is not a JSON object.")
    return document
