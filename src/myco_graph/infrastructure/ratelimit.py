"""Rate limits: fixed windows counted in Redis in production, in memory otherwise.

A limit is "at most N hits per key in a window of W seconds"; a hit over the
limit is refused with the time left until the window ends.
"""

from __future__ import annotations

import math
import time
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from myco_graph.errors import BackendUnavailable

# Memory windows are swept when there are this many, so a flood of distinct
# keys (addresses) cannot grow the process without bound.
SWEEP_AT = 100_000


class Limiter(Protocol):
    async def hit(self, key: str, limit: int, window: float) -> float | None:
        """Counts one hit; the seconds to wait when over the limit, else None."""
        ...

    async def close(self) -> None: ...


def _window(window: float, moment: float) -> tuple[int, float]:
    """The number of the current window and the seconds left in it."""
    number = math.floor(moment / window)
    return number, (number + 1) * window - moment


class MemoryLimiter:
    """Counts in this process only: right for the embedded default."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, int], int] = {}

    async def hit(self, key: str, limit: int, window: float) -> float | None:
        number, left = _window(window, time.time())
        if len(self._counts) >= SWEEP_AT:
            self._counts = {k: v for k, v in self._counts.items() if k[1] >= number}
        count = self._counts.get((key, number), 0) + 1
        self._counts[(key, number)] = count
        return left if count > limit else None

    async def close(self) -> None:
        self._counts.clear()


# One round trip and one command per hit: the window's key expires with the
# window (and a second more), set when its first hit creates it.
COUNT_HIT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count
"""


class RedisLimiter:
    """Counts in Redis, so that every process of the instance shares the limit."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._count = redis.register_script(COUNT_HIT)

    @classmethod
    def connect(cls, redis_url: str) -> RedisLimiter:
        return cls(Redis.from_url(redis_url))

    async def hit(self, key: str, limit: int, window: float) -> float | None:
        number, left = _window(window, time.time())
        name = f"myco:rate:{key}:{number}"
        try:
            count = await self._count(keys=[name], args=[math.ceil(window) + 1])
        except (RedisError, OSError) as exc:
            raise BackendUnavailable("the rate limiter cannot reach Redis") from exc
        return left if int(count) > limit else None

    async def close(self) -> None:
        await self._redis.aclose()


_limiter: Limiter | None = None


def install_limiter(limiter: Limiter | None) -> None:
    """Makes ``limiter`` the process's rate limiter (set once at start)."""
    global _limiter
    _limiter = limiter


def limiter() -> Limiter:
    if _limiter is None:
        raise RuntimeError("no rate limiter installed: the app did not start")
    return _limiter
