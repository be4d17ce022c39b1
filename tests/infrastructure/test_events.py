from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import pytest
from redis.asyncio import Redis

from myco_graph.errors import BackendUnavailable
from myco_graph.infrastructure.events import LISTENER_BACKLOG, MemoryBus, RedisBus


async def started(listener: AsyncIterator[dict[str, object]]) -> asyncio.Task[object]:
    """Starts waiting for the first message, which registers the listener."""
    task: asyncio.Task[object] = asyncio.create_task(anext(listener))
    await asyncio.sleep(0)
    return task


async def stop(waiting: asyncio.Task[object]) -> None:
    """Cancels a waiting listener, as a closing websocket does."""
    waiting.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await waiting


async def subscribers(redis_url: str, channel: str) -> int:
    """How many subscriptions Redis holds for ``channel``, whatever its prefix."""
    async with Redis.from_url(redis_url) as redis:
        names = await redis.pubsub_channels(f"*{channel}")
        counts = await redis.pubsub_numsub(*names) if names else []
    return sum(int(count) for _, count in counts)


def on_database(redis_url: str, number: int) -> str:
    return urlunsplit(urlsplit(redis_url)._replace(path=f"/{number}"))


async def until_subscribed(redis_url: str, channel: str, count: int = 1) -> None:
    for _ in range(200):
        if await subscribers(redis_url, channel) == count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{channel} never had {count} subscriber(s)")


@pytest.fixture
def channel() -> str:
    return f"test:{secrets.token_hex(4)}"


async def test_memory_bus_delivers_to_listeners_of_the_channel() -> None:
    bus = MemoryBus()
    listener = bus.listen("account:1")
    waiting = await started(listener)

    await bus.publish("account:1", {"kind": "hello"})

    assert await asyncio.wait_for(waiting, 1) == {"kind": "hello"}
    await listener.aclose()


async def test_memory_bus_keeps_channels_apart() -> None:
    bus = MemoryBus()
    listener = bus.listen("account:1")
    waiting = await started(listener)

    await bus.publish("account:2", {"kind": "hello"})
    await asyncio.sleep(0.05)

    assert not waiting.done()
    await stop(waiting)


async def test_memory_bus_forgets_a_channel_when_its_last_listener_leaves() -> None:
    bus = MemoryBus()
    listener = bus.listen("account:1")
    waiting = await started(listener)

    await stop(waiting)

    assert not bus.has_listeners("account:1")


async def test_slow_listener_loses_the_oldest_messages_first() -> None:
    bus = MemoryBus()
    listener = bus.listen("account:1")
    first = await started(listener)
    await bus.publish("account:1", {"n": -1})
    await first

    for n in range(LISTENER_BACKLOG + 10):
        await bus.publish("account:1", {"n": n})
    oldest_kept = await anext(listener)

    assert oldest_kept == {"n": 10}
    await listener.aclose()


async def test_unreachable_redis_is_backend_unavailable() -> None:
    with pytest.raises(BackendUnavailable):
        await RedisBus.connect("redis://127.0.0.1:1/0")


async def test_event_published_by_one_redis_bus_reaches_another(
    redis_url: str, channel: str
) -> None:
    sender = await RedisBus.connect(redis_url)
    receiver = await RedisBus.connect(redis_url)
    listener = receiver.listen(channel)
    waiting = await started(listener)
    await until_subscribed(redis_url, channel)

    await sender.publish(channel, {"kind": "shares.subscribed", "payload": {"n": 1}})

    assert await asyncio.wait_for(waiting, 5) == {
        "kind": "shares.subscribed",
        "payload": {"n": 1},
    }
    await listener.aclose()
    await sender.close()
    await receiver.close()


async def test_one_redis_subscription_serves_every_local_listener(
    redis_url: str, channel: str
) -> None:
    bus = await RedisBus.connect(redis_url)
    first, second = bus.listen(channel), bus.listen(channel)
    waiting = [await started(first), await started(second)]
    await until_subscribed(redis_url, channel)

    await bus.publish(channel, {"kind": "hello"})

    assert await asyncio.wait_for(asyncio.gather(*waiting), 5) == [
        {"kind": "hello"},
        {"kind": "hello"},
    ]
    assert await subscribers(redis_url, channel) == 1
    await first.aclose()
    await second.aclose()
    await bus.close()


async def test_redis_bus_unsubscribes_when_the_last_listener_leaves(
    redis_url: str, channel: str
) -> None:
    bus = await RedisBus.connect(redis_url)
    listener = bus.listen(channel)
    waiting = await started(listener)
    await until_subscribed(redis_url, channel)

    await stop(waiting)

    await until_subscribed(redis_url, channel, count=0)
    await bus.close()


async def test_redis_buses_on_different_databases_do_not_hear_each_other(
    redis_url: str, channel: str
) -> None:
    sender = await RedisBus.connect(on_database(redis_url, 1))
    receiver = await RedisBus.connect(on_database(redis_url, 2))
    listener = receiver.listen(channel)
    waiting = await started(listener)
    await until_subscribed(redis_url, channel)

    await sender.publish(channel, {"kind": "elsewhere"})
    await asyncio.sleep(0.3)

    assert not waiting.done()
    await stop(waiting)
    await sender.close()
    await receiver.close()
