"""`receive_overdue` judges a request still arriving from the body bytes seen at each look: a gap
longer than the body timeout, or the whole request longer than the request timeout."""

from __future__ import annotations

from meshproxy.limits.guard import BODY_TIMEOUT, REQUEST_TIMEOUT
from meshproxy.limits.receiving import ReceiveClock, receive_overdue
from meshproxy.limits.settings import http2_tick


def test_a_body_that_stops_growing_passes_the_body_timeout() -> None:
    clock = ReceiveClock(0.0, 10)
    assert receive_overdue(clock, 0.5, 10, False, 1.0, 0.0) is None
    assert receive_overdue(clock, 1.0, 10, False, 1.0, 0.0) == BODY_TIMEOUT


def test_a_body_that_keeps_growing_never_passes_the_body_timeout() -> None:
    clock = ReceiveClock(0.0, 0)
    for step in range(1, 100):
        assert receive_overdue(clock, step * 0.5, step, False, 1.0, 0.0) is None


def test_a_body_trickling_forever_passes_the_request_timeout() -> None:
    clock = ReceiveClock(0.0, 0)
    assert receive_overdue(clock, 1.5, 1, False, 1.0, 2.0) is None
    assert receive_overdue(clock, 2.0, 2, False, 1.0, 2.0) == REQUEST_TIMEOUT


def test_a_gap_while_the_proxy_holds_the_window_is_not_the_clients() -> None:
    clock = ReceiveClock(0.0, 5)
    assert receive_overdue(clock, 5.0, 5, True, 1.0, 0.0) is None
    assert receive_overdue(clock, 5.5, 5, False, 1.0, 0.0) is None
    assert receive_overdue(clock, 6.0, 5, False, 1.0, 0.0) == BODY_TIMEOUT


def test_timeouts_of_zero_are_off() -> None:
    clock = ReceiveClock(0.0, 0)
    assert receive_overdue(clock, 1e6, 0, False, 0.0, 0.0) is None


def test_the_http2_sweep_is_half_the_shortest_timeout_that_is_on() -> None:
    assert http2_tick(10.0, 15.0, 60.0, 30.0, 30.0) == 5.0
    assert http2_tick(10.0, 0.0, 0.0, 1.0, 30.0) == 0.5
    assert http2_tick(0.0, 0.0) == 1.0


def test_a_grpc_stream_has_no_whole_request_limit_and_pauses_as_long_as_a_stream_idle() -> None:
    from meshproxy.limits.receiving import GRPC_STREAM_IDLE, stream_limits

    # Plain HTTP/2 requests keep the listener's limits.
    assert stream_limits(False, 15.0, 60.0) == (15.0, 60.0)
    # A gRPC call streams for as long as it lasts: its deadline bounds it, not requestTimeout,
    # and a pause between messages may last a stream idle timeout.
    assert stream_limits(True, 15.0, 60.0) == (GRPC_STREAM_IDLE, 0.0)
    assert stream_limits(True, 900.0, 60.0) == (900.0, 0.0)
    # Off stays off.
    assert stream_limits(True, 0.0, 60.0) == (0.0, 0.0)
