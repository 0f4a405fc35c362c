"""Which Redis failures the engine waits out: lost connections, and the states a Redis
Cluster or a Sentinel-managed primary passes through during a failover or a migration."""

from __future__ import annotations

import pytest
from redis.exceptions import (
    AskError,
    ClusterDownError,
    MovedError,
    ReadOnlyError,
    RedisClusterException,
    ResponseError,
    SlotNotCoveredError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError

from runtime.errors import BrokerUnavailable
from runtime.redis_errors import is_transient, raise_reply


@pytest.mark.parametrize(
    "exc",
    [
        RedisConnectionError("Connection refused"),
        ResponseError("LOADING Redis is loading the dataset in memory"),
        ClusterDownError("CLUSTERDOWN The cluster is down"),
        TryAgainError("TRYAGAIN Multiple keys request during rehashing of slot"),
        MovedError("3999 127.0.0.1:6381"),
        AskError("3999 127.0.0.1:6381"),
        SlotNotCoveredError("Slot 3999 is not covered by the cluster"),
        ReadOnlyError("READONLY You can't write against a read only replica."),
        RedisClusterException("Redis Cluster cannot be connected. Please provide at least ..."),
    ],
)
def test_transient(exc: Exception) -> None:
    assert is_transient(exc)
    with pytest.raises(BrokerUnavailable):
        raise_reply(exc)


@pytest.mark.parametrize(
    "exc",
    [
        ResponseError("WRONGTYPE Operation against a key holding the wrong kind of value"),
        ResponseError("NOGROUP No such key 'orders' or consumer group 'g'"),
        RedisClusterException("EVAL - all keys must map to the same key slot"),
    ],
)
def test_not_transient(exc: Exception) -> None:
    assert not is_transient(exc)
    with pytest.raises(type(exc)):
        raise_reply(exc)


def test_a_reply_that_is_not_an_error_passes() -> None:
    raise_reply([b"OK"])
