"""A plaintext connection that has not yet said which HTTP it speaks is counted by the
listener's guard from accept: refused past the caps, its header timeout counted and logged."""

from __future__ import annotations

import asyncio
import dataclasses

from meshproxy_fakes import FakeStack, FakeTransport

from meshproxy.limits import guard as limit
from meshproxy.limits.guard import ListenerGuard
from meshproxy.limits.settings import resolve
from meshproxy.server.negotiate import CodecChoice
from meshproxy.server.state import ListenerState


class _Transport(FakeTransport):
    def __init__(self, peer: tuple[str, int]) -> None:
        super().__init__(peer)
        self.protocol: object = None

    def set_protocol(self, protocol: object) -> None:
        self.protocol = protocol

    def get_extra_info(self, name: str, default: object = None) -> object:
        if name == "ssl_object":
            return None
        return super().get_extra_info(name, default)


def _listener(**limits: object) -> tuple[ListenerState, list[str]]:
    stack = FakeStack()
    lines: list[str] = []
    settings = dataclasses.replace(resolve(None, stack.limits), **limits)  # type: ignore[arg-type]
    guard = ListenerGuard(settings, "web", write_line=lines.append)
    return ListenerState(stack, "http", guard), lines  # type: ignore[arg-type]


def _connect(state: ListenerState, client: str) -> tuple[CodecChoice, _Transport]:
    choice = CodecChoice(state)
    transport = _Transport((client, 4000))
    choice.connection_made(transport)  # type: ignore[arg-type]
    return choice, transport


async def test_silent_connections_count_against_the_per_client_cap() -> None:
    state, _ = _listener(max_connections_per_client=2)
    held = [_connect(state, "198.18.0.5")[1] for _ in range(3)]
    assert [t.closed for t in held] == [False, False, True]
    assert state.guard.hits == {limit.MAX_CONNECTIONS_PER_CLIENT: 1}
    assert state.guard.connections == 2


async def test_a_silent_connection_is_closed_and_counted_at_the_header_timeout() -> None:
    state, lines = _listener(header_timeout=0.05)
    choice, transport = _connect(state, "198.18.0.6")
    await asyncio.sleep(0.2)
    assert transport.closed
    assert state.guard.hits == {limit.HEADER_TIMEOUT: 1}
    assert '"limit":"header_timeout"' in lines[0]
    choice.connection_lost(None)
    assert state.guard.connections == 0


async def test_the_chosen_codec_takes_the_count_over_without_counting_twice() -> None:
    state, _ = _listener(max_connections_per_client=1)
    choice, transport = _connect(state, "198.18.0.7")
    choice.data_received(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    assert transport.protocol is not None  # the HTTP/1 codec has the transport now
    assert state.guard.connections == 1
    assert not transport.closed
