"""Rate limits counted in Redis: one window per key, gone when it ends."""

from __future__ import annotations

import secrets

from redis.asyncio import Redis

from myco_graph.infrastructure.ratelimit import MemoryLimiter, RedisLimiter


async def test_redis_counts_hits_and_refuses_over_the_limit(redis_url: str) -> None:
    limiter = RedisLimiter.connect(redis_url)
    key = f"test:{secrets.token_hex(4)}"
    try:
        answers = [await limiter.hit(key, 3, 60) for _ in range(5)]
        other = await limiter.hit(f"{key}:other", 3, 60)
    finally:
        await limiter.close()

    assert answers[:3] == [None, None, None]
    assert all(wait is not None and 0 < wait <= 60 for wait in answers[3:])
    assert other is None


async def test_a_redis_window_expires_with_the_window(redis_url: str) -> None:
    limiter = RedisLimiter.connect(redis_url)
    key = f"test:{secrets.token_hex(4)}"
    try:
        await limiter.hit(key, 3, 60)
        await limiter.hit(key, 3, 60)
    finally:
        await limiter.close()

    async with Redis.from_url(redis_url) as redis:
        (name,) = await redis.keys(f"myco:rate:{key}:*")
        ttl = await redis.ttl(name)
    assert 0 < ttl <= 61


async def test_memory_and_redis_answer_alike(redis_url: str) -> None:
    redis, memory = RedisLimiter.connect(redis_url), MemoryLimiter()
    key = f"test:{secrets.token_hex(4)}"
    try:
        from_redis = [await redis.hit(key, 2, 60) is None for _ in range(4)]
        from_memory = [await memory.hit(key, 2, 60) is None for _ in range(4)]
    finally:
        await redis.close()

    assert from_redis == from_memory == [True, True, False, False]
