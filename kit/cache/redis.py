"""Redis adapter (redis-py asyncio): plain commands, and Lua where a read and a write must be one step."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from redis.asyncio import Redis

# INCRBY ARGV[2], and start the expiry window on the first increment (fixed-window counters); giving back
# (a negative ARGV[2]) leaves an absent key absent.
_INCR = """
local by = tonumber(ARGV[2])
if by <= 0 and redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local count = redis.call('INCRBY', KEYS[1], by)
if count == by then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return count
"""

# A token bucket in a hash {tokens, at}, refilled by the time passed on the server's clock; answers the
# seconds to wait, 0 when a token was taken (as a string: Lua numbers would reach us truncated).
_TAKE = """
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst / rate + 1) * 1000))
return tostring(wait)
"""

# Write ARGV[3] (or delete when ARGV[2] == '0') only if the key holds ARGV[1] (absent when ARGV[4] == '0').
_COMPARE_AND_SET = """
local current = redis.call('GET', KEYS[1])
if ARGV[4] == '0' then
  if current then return 0 end
elseif current ~= ARGV[1] then
  return 0
end
if ARGV[2] == '0' then
  redis.call('DEL', KEYS[1])
elseif tonumber(ARGV[5]) > 0 then
  redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[5])
else
  redis.call('SET', KEYS[1], ARGV[3])
end
return 1
"""


def _ms(ttl: float) -> int:
    return max(1, int(ttl * 1000))


class RedisCache:
    def __init__(self, url: str) -> None:
        self._redis = Redis.from_url(
            url, socket_timeout=5, socket_connect_timeout=5, health_check_interval=30
        )
        self._incr = self._redis.register_script(_INCR)
        self._compare_and_set = self._redis.register_script(_COMPARE_AND_SET)
        self._take = self._redis.register_script(_TAKE)

    async def get(self, key: str, *, ttl: float | None = None) -> bytes | None:
        if ttl is None:
            value = await self._redis.get(key)
        else:
            value = await self._redis.getex(key, px=_ms(ttl))
        return value.encode() if isinstance(value, str) else value

    async def set(self, key: str, value: bytes, *, ttl: float | None = None) -> None:
        await self._redis.set(key, value, px=None if ttl is None else _ms(ttl))

    async def delete(self, key: str) -> bool:
        return bool(await self._redis.delete(key))

    async def incr(self, key: str, *, ttl: float, by: int = 1) -> int:
        return int(await self._incr(keys=[key], args=[_ms(ttl), by]))

    async def take(self, key: str, *, per_second: float, burst: int) -> float:
        wait = await self._take(keys=[key], args=[repr(float(per_second)), burst])
        return float(wait.decode() if isinstance(wait, bytes) else wait)

    async def compare_and_set(
        self, key: str, expected: bytes | None, value: bytes | None, *, ttl: float | None = None
    ) -> bool:
        args = [
            expected or b"",
            "0" if value is None else "1",
            value or b"",
            "0" if expected is None else "1",
            0 if ttl is None else _ms(ttl),
        ]
        return bool(await self._compare_and_set(keys=[key], args=args))

    async def ping(self) -> None:
        await self._redis.ping()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._redis.aclose()
