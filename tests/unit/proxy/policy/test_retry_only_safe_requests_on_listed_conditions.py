"""RetryDecider and RetryBudget: which failures retry, which methods are safe, how long to wait."""

from __future__ import annotations

import pytest

from meshproxy import config
from meshproxy.policy.retry import RetryBudget, RetryDecider


def decider(**spec: object) -> RetryDecider:
    return RetryDecider(config.Retry.from_data(spec))


@pytest.mark.parametrize(
    ("retry_on", "status", "failure", "want"),
    [
        (["5xx"], 500, None, True),
        (["5xx"], 503, None, True),
        (["5xx"], 404, None, False),
        (["5xx"], None, "reset", True),
        (["5xx"], None, "timeout", True),
        (["5xx"], None, "connect-failure", True),
        (["gateway-error"], 502, None, True),
        (["gateway-error"], 504, None, True),
        (["gateway-error"], 500, None, False),
        (["gateway-error"], None, "reset", True),
        (["reset"], None, "reset", True),
        (["reset"], None, "timeout", True),
        (["reset"], None, "connect-failure", True),
        (["reset"], 503, None, False),
        (["connect-failure"], None, "connect-failure", True),
        (["connect-failure"], None, "reset", False),
        (["connect-failure"], None, "timeout", False),
        (["connect-failure"], 503, None, False),
        (["refused-stream"], None, "reset", False),
        (["refused-stream"], 503, None, False),
    ],
)
def test_retry_on_conditions(
    retry_on: list[str], status: int | None, failure: str | None, want: bool
) -> None:
    assert decider(retryOn=retry_on).should_retry("GET", status, failure, 0, True) is want


def test_retriable_status_codes_need_their_condition() -> None:
    listed = decider(retryOn=["retriable-status-codes"], retriableStatusCodes=[409, 429])
    assert listed.should_retry("GET", 429, None, 0, True)
    assert listed.should_retry("GET", 409, None, 0, True)
    assert not listed.should_retry("GET", 500, None, 0, True)
    unlisted = decider(retryOn=["5xx"], retriableStatusCodes=[429])
    assert not unlisted.should_retry("GET", 429, None, 0, True)


def test_default_policy_retries_only_connect_failures_and_resets() -> None:
    default = decider()
    assert default.should_retry("GET", None, "connect-failure", 0, True)
    assert default.should_retry("GET", None, "reset", 0, True)
    assert not default.should_retry("GET", 503, None, 0, True)


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"])
def test_idempotent_methods_retry(method: str) -> None:
    assert decider(retryOn=["5xx"]).should_retry(method, 503, None, 0, True)


@pytest.mark.parametrize("method", ["POST", "PATCH", "CONNECT", "PURGE"])
def test_non_idempotent_methods_do_not_retry_once_sent(method: str) -> None:
    plain = decider(retryOn=["5xx", "connect-failure"])
    assert not plain.should_retry(method, 503, None, 0, True)
    assert not plain.should_retry(method, None, "reset", 0, True)
    assert not plain.should_retry(method, None, "timeout", 0, True)
    # nothing reached the upstream, so even a POST is safe
    assert plain.should_retry(method, None, "connect-failure", 0, True)
    opted_in = decider(retryOn=["5xx"], retryNonIdempotent=True)
    assert opted_in.should_retry(method, 503, None, 0, True)


def test_attempts_count_retries_after_the_first_try() -> None:
    policy = decider(retryOn=["5xx"], attempts=2)
    assert policy.should_retry("GET", 503, None, 0, True)
    assert policy.should_retry("GET", 503, None, 1, True)
    assert not policy.should_retry("GET", 503, None, 2, True)
    assert not decider(retryOn=["5xx"], attempts=0).should_retry("GET", 503, None, 0, True)


def test_a_request_that_cannot_be_replayed_never_retries() -> None:
    policy = decider(retryOn=["5xx", "connect-failure"], retryNonIdempotent=True)
    assert not policy.should_retry("GET", 503, None, 0, False)
    assert not policy.should_retry("GET", None, "connect-failure", 0, False)


def test_a_success_never_retries() -> None:
    policy = decider(retryOn=["5xx", "gateway-error", "reset", "connect-failure"])
    assert not policy.should_retry("GET", 200, None, 0, True)
    assert not policy.should_retry("GET", None, None, 0, True)


def test_backoff_doubles_up_to_the_max() -> None:
    policy = decider(backoff={"baseInterval": 0.1, "maxInterval": 0.5, "jitter": 0})
    assert [policy.backoff(n, 0.9) for n in range(5)] == pytest.approx([0.1, 0.2, 0.4, 0.5, 0.5])
    assert policy.backoff(1000, 0.5) == 0.5


def test_backoff_jitter_shortens_by_up_to_its_fraction() -> None:
    policy = decider(backoff={"baseInterval": 0.2, "maxInterval": 1, "jitter": 0.5})
    assert policy.backoff(0, 0.0) == pytest.approx(0.2)
    assert policy.backoff(0, 0.5) == pytest.approx(0.15)
    assert policy.backoff(0, 0.999) == pytest.approx(0.1, abs=1e-3)


@pytest.mark.parametrize(
    ("active_requests", "active_retries", "want"),
    [
        (0, 0, True),
        (0, 2, True),
        (0, 3, False),  # min_concurrency 3 is always allowed, not more
        (100, 19, True),
        (100, 20, False),  # 20% of 100
        (1000, 199, True),
    ],
)
def test_retry_budget(active_requests: int, active_retries: int, want: bool) -> None:
    budget = RetryBudget(config.RetryBudget(percent=20, min_concurrency=3))
    assert budget.allow(active_requests, active_retries) is want


@pytest.mark.parametrize(
    ("retry_on", "grpc_status", "want"),
    [
        (["unavailable"], "14", True),
        (["unavailable"], "4", False),
        (["deadline-exceeded"], "4", True),
        (["resource-exhausted"], "8", True),
        (["cancelled"], "1", True),
        (["internal"], "13", True),
        (["5xx"], "14", False),  # HTTP conditions never read a gRPC status
        (["cancelled", "deadline-exceeded", "resource-exhausted", "unavailable"], "0", False),
    ],
)
def test_grpc_conditions_retry_on_their_status_whatever_the_method(
    retry_on: list[str], grpc_status: str, want: bool
) -> None:
    d = decider(retryOn=retry_on, attempts=2)
    assert d.should_retry_grpc(grpc_status, 0, True) is want
    assert d.should_retry_grpc(grpc_status, 2, True) is False  # attempts spent
    assert d.should_retry_grpc(grpc_status, 0, False) is False  # body not replayable
