"""The event bus behind GraphQL subscriptions.

In memory on the embedded default; over Redis pub/sub in production, so that
an event raised in one process reaches a websocket held by another. Each
process keeps one Redis subscription and fans messages out to its local
listeners, so a thousand open websockets cost one Redis connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import AsyncGenerator
from typing import Any, Protocol

import orjson
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from myco_graph.errors import BackendUnavailable

log = logging.getLogger(__name__)

Message = dict[str, Any]

# A slow websocket must not hold memory without bound: past this many unread
# messages, the oldest are dropped for that listener.
LISTENER_BACKLOG = 256


class EventBus(Protocol):
    async def publish(self, channel: str, message: Message) -> None: ...

    def listen(self, channel: str) -> AsyncGenerator[Message, None]: ...

    async def close(self) -> None: ...


class MemoryBus:
    """Delivers messages to listeners of this process only."""

    def __init__(self) -> None:
        self._listeners: dict[str, set[asyncio.Queue[Message]]] = defaultdict(set)

    async def publish(self, channel: str, message: Message) -> None:
        self.deliver(channel, message)

    def deliver(self, channel: str, message: Message) -> None:
        for listener in self._listeners.get(channel, ()):
            if listener.full():
                listener.get_nowait()
            listener.put_nowait(message)

    def has_listeners(self, channel: str) -> bool:
        return bool(self._listeners.get(channel))

    async def listen(self, channel: str) -> AsyncGenerator[Message, None]:
        listener: asyncio.Queue[Message] = asyncio.Queue(LISTENER_BACKLOG)
        self._listeners[channel].add(listener)
        try:
            while True:
                yield await listener.get()
        finally:
            self._listeners[channel].discard(listener)
            if not self._listeners[channel]:
                del self._listeners[channel]

    async def close(self) -> None:
        self._listeners.clear()


class RedisBus:
    """Publishes through Redis; one reader task feeds this process's listeners.

    Redis pub/sub ignores database numbers: a message published while using
    database 1 reaches subscribers using database 2. Channels therefore carry
    the database number of the URL, so that instances kept apart by database
    (production and staging on one server, say) stay apart.
    """

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._prefix = f"db{redis.connection_pool.connection_kwargs.get('db', 0)}:"
        self._pubsub: PubSub = redis.pubsub(ignore_subscribe_messages=True)
        self._local = MemoryBus()
        self._reader: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    @classmethod
    async def connect(cls, redis_url: str) -> RedisBus:
        redis = Redis.from_url(redis_url)
        try:
            await redis.ping()
        except (RedisError, OSError) as exc:
            raise BackendUnavailable("Redis cannot be reached") from exc
        return cls(redis)

    async def publish(self, channel: str, message: Message) -> None:
        try:
            await self._redis.publish(self._prefix + channel, orjson.dumps(message))
        except (RedisError, OSError) as exc:
            raise BackendUnavailable("the event bus cannot be reached") from exc

    async def listen(self, channel: str) -> AsyncGenerator[Message, None]:
        async with self._lock:
            if not self._local.has_listeners(channel):
                await self._pubsub.subscribe(self._prefix + channel)
            if self._reader is None or self._reader.done():
                self._reader = asyncio.create_task(self._read())
        messages = self._local.listen(channel)
        try:
            # The first step registers the listener; only then is it safe to
            # let the caller believe it is subscribed.
            async for message in messages:
                yield message
        finally:
            await messages.aclose()
            async with self._lock:
                if not self._local.has_listeners(channel):
                    with contextlib.suppress(RedisError, OSError):
                        await self._pubsub.unsubscribe(self._prefix + channel)

    async def ping(self) -> bool:
        try:
            return bool(await self._redis.ping())
        except (RedisError, OSError):
            return False

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        await self._pubsub.aclose()  # type: ignore[no-untyped-call]
        await self._redis.aclose()

    async def _read(self) -> None:
        while True:
            try:
                raw = await self._pubsub.get_message(timeout=1.0)
            except (RedisError, OSError):
                log.warning("event bus lost Redis; retrying", exc_info=True)
                await asyncio.sleep(1.0)
                continue
            if raw is None:
                if not self._pubsub.subscribed:
                    await asyncio.sleep(0.05)
                continue
            channel = raw["channel"].decode().removeprefix(self._prefix)
            self._local.deliver(channel, orjson.loads(raw["data"]))


_bus: EventBus | None = None


def install_bus(bus: EventBus | None) -> None:
    """Makes ``bus`` the process's event bus (set once at start)."""
    global _bus
    _bus = bus


def bus() -> EventBus:
    if _bus is None:
        raise RuntimeError("no event bus installed: the app did not start")
    return _bus
