"""gRPC rules of the codec: `grpc-timeout` read in every unit, malformed ones ignored; local
replies are HTTP 200 with the status a gRPC client expects; gRPC statuses count as HTTP ones."""

from __future__ import annotations

import pytest

from meshproxy.http2 import grpc


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("1H", 3600.0), ("2M", 120.0), ("5S", 5.0), ("100m", 0.1), ("250u", 250e-6), ("7n", 7e-9)],
)
def test_grpc_timeout_is_read_in_each_unit(value: str, seconds: float) -> None:
    assert grpc.parse_timeout(value) == pytest.approx(seconds)


@pytest.mark.parametrize("value", [None, "", "5", "S", "-1S", "1.5S", "123456789S", "5s", "5 S"])
def test_malformed_grpc_timeout_is_no_deadline(value: str | None) -> None:
    assert grpc.parse_timeout(value) is None


@pytest.mark.parametrize(
    ("status", "code"),
    [(403, "7"), (401, "16"), (404, "12"), (429, "14"), (500, "14"), (503, "14"), (504, "4")],
)
def test_local_reply_is_http_200_with_the_grpc_status(status: int, code: str) -> None:
    headers = dict(grpc.local_reply(status))
    assert headers[":status"] == "200"
    assert headers["content-type"] == "application/grpc"
    assert headers["grpc-status"] == code


def test_grpc_statuses_count_as_their_http_equivalents() -> None:
    assert grpc.as_http("0") == 200
    assert grpc.as_http("14") == 503
    assert grpc.as_http("4") == 504
    assert grpc.as_http("not-a-code") == 500


def test_content_type_says_whether_a_request_is_grpc() -> None:
    assert grpc.is_grpc("application/grpc")
    assert grpc.is_grpc("application/grpc+proto")
    assert not grpc.is_grpc("application/json")
    assert not grpc.is_grpc(None)
