"""A listener chain driven by callbacks (tracing, route match and forward, no Task) is built
where every layer in it can run so, and for every case it handles it writes the same bytes to
both sides, the same access log and the same metrics as the chain awaited in a Task (the
general path)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from meshproxy_fakes import settle
from stack_rig import Rig, config_dict

GET = b"GET /p?q=1 HTTP/1.1\r\nHost: a.example\r\nUser-Agent: t\r\n\r\n"
OK = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello"

# (name, steps): each step is fed to both rigs, with the loop let run in between.
SCENARIOS: list[tuple[str, list[tuple[str, bytes]]]] = [
    ("get", [("client", GET), ("upstream", OK)]),
    (
        "post-with-complete-body",
        [
            ("client", b"POST /f HTTP/1.1\r\nHost: a.example\r\nContent-Length: 3\r\n\r\nabc"),
            ("upstream", OK),
        ],
    ),
    (
        "chunked-request-body-streams-across-reads",
        [
            (
                "client",
                b"POST /u HTTP/1.1\r\nHost: a.example\r\nTransfer-Encoding: chunked\r\n\r\n"
                b"3\r\nabc\r\n",
            ),
            ("client", b"2\r\nde\r\n0\r\n\r\n"),
            ("upstream", OK),
        ],
    ),
    (
        "response-body-streams-across-reads",
        [
            ("client", GET),
            ("upstream", b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhel"),
            ("upstream", b"lo wo"),
            ("upstream", b"rl"),
        ],
    ),
    (
        "chunked-response",
        [
            ("client", GET),
            ("upstream", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n"),
            ("upstream", b"0\r\n\r\n"),
        ],
    ),
    (
        "head-request",
        [
            ("client", b"HEAD /h HTTP/1.1\r\nHost: a.example\r\n\r\n"),
            ("upstream", b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n"),
        ],
    ),
    ("no-content", [("client", GET), ("upstream", b"HTTP/1.1 204 No Content\r\n\r\n")]),
    (
        "interim-100-then-response",
        [("client", GET), ("upstream", b"HTTP/1.1 100 Continue\r\n\r\n" + OK)],
    ),
    (
        "pipelined-requests-answered-in-order",
        [
            ("client", GET.replace(b"/p", b"/1") + GET.replace(b"/p", b"/2") + GET),
            ("upstream", OK.replace(b"hello", b"one..")),
            ("upstream", OK.replace(b"hello", b"two..")),
            ("upstream", OK),
        ],
    ),
    (
        "keep-alive-requests-reuse-the-connection",
        [("client", GET), ("upstream", OK), ("client", GET), ("upstream", OK)],
    ),
    (
        "two-5xx-eject-the-endpoint-so-the-third-request-is-503",
        [
            ("client", GET),
            ("upstream", OK.replace(b"200 OK", b"500 Oops")),
            ("client", GET),
            ("upstream", OK.replace(b"200 OK", b"502 Bad")),
            ("client", GET),
        ],
    ),
    ("no-route-is-404", [("client", GET.replace(b"a.example", b"b.example"))]),
    (
        "client-asks-to-close",
        [("client", GET.replace(b"User-Agent: t", b"Connection: close")), ("upstream", OK)],
    ),
    (
        "upstream-asks-to-close-so-the-next-request-connects",
        [
            ("client", GET),
            ("upstream", OK.replace(b"Content-Length", b"Connection: close\r\nContent-Length")),
            ("client", GET),
            ("upstream", OK),
        ],
    ),
    (
        "reused-connection-lost-before-the-response-is-retried-on-a-fresh-one",
        [
            ("client", GET),
            ("upstream", OK),
            ("client", GET),
            ("upstream-close", b""),
            ("upstream", OK),
        ],
    ),
    (
        "fresh-connection-lost-before-the-response-is-502",
        [("client", GET), ("upstream-close", b"")],
    ),
    ("malformed-upstream-response-is-502", [("client", GET), ("upstream", b"HTTP/1.1 2x\r\n\r\n")]),
    (
        "upstream-dies-mid-body-truncates-and-closes",
        [
            ("client", GET),
            ("upstream", b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhel"),
            ("upstream-close", b""),
        ],
    ),
    ("client-gone-before-the-response", [("client", GET), ("client-close", b""), ("upstream", OK)]),
    (
        "slow-client-pauses-the-upstream",
        [
            ("client", GET),
            ("upstream", b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nabc"),
            ("client-full", b""),
            ("upstream", b"de"),
            ("client-drained", b""),
            ("upstream", b"f"),
        ],
    ),
    (
        "expect-100-continue",
        [
            (
                "client",
                b"POST /e HTTP/1.1\r\nHost: a.example\r\nExpect: 100-continue\r\n"
                b"Content-Length: 2\r\n\r\n",
            ),
            ("client", b"hi"),
            ("upstream", OK),
        ],
    ),
    (
        "upgrade-goes-the-general-way",
        [
            (
                "client",
                b"GET /ws HTTP/1.1\r\nHost: a.example\r\nConnection: Upgrade\r\n"
                b"Upgrade: websocket\r\n\r\n",
            ),
            ("upstream", b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"),
        ],
    ),
    (
        "forged-identity-and-hop-by-hop-headers-never-reach-the-upstream",
        [
            (
                "client",
                b"GET / HTTP/1.1\r\nHost: a.example\r\nx-meshgate-peer-identity: spiffe://x\r\n"
                b"Connection: x-drop\r\nx-drop: 1\r\nKeep-Alive: 5\r\nX-Forwarded-For: 1.2.3.4\r\n"
                b"traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n\r\n",
            ),
            ("upstream", OK.replace(b"Content-Type", b"Keep-Alive: 1\r\nContent-Type")),
        ],
    ),
]


@pytest.mark.parametrize(("name", "steps"), SCENARIOS, ids=[s[0] for s in SCENARIOS])
async def test_direct_path_writes_what_the_general_path_writes(
    name: str, steps: list[tuple[str, bytes]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[bool, dict[str, Any]] = {}
    for direct in (True, False):
        path = tmp_path / ("direct" if direct else "general")
        path.mkdir()
        rig = Rig(config_dict(path), monkeypatch, direct=direct)
        await rig.play(steps)
        seen[direct] = rig.transcript()
        if direct:
            assert rig.stack.start is not None
    assert seen[True] == seen[False]
    assert seen[True]["client"] or name.startswith("client-gone"), "the client was answered"


async def test_the_direct_path_is_chosen_and_sends_upstream_within_the_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rig = Rig(config_dict(tmp_path), monkeypatch)
    assert rig.stack.start is not None

    rig.client.data_received(GET)  # no loop turn: no Task could have run
    assert rig.upstream_bytes()[0].startswith(b"GET /p?q=1 HTTP/1.1\r\nhost: a.example\r\n")

    rig.busy_upstream().data_received(OK)  # answered within the upstream's read, in one write
    assert rig.client_transport.written[-1].endswith(b"\r\n\r\nhello")
    assert rig.client_transport.written[-1].startswith(b"HTTP/1.1 200 OK\r\n")


async def test_the_general_path_needs_a_loop_turn_which_is_what_the_test_above_rules_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rig = Rig(config_dict(tmp_path), monkeypatch, direct=False)
    rig.client.data_received(GET)
    assert rig.upstream_bytes() == [b""]
    await settle()
    assert rig.upstream_bytes()[0].startswith(b"GET /p?q=1 HTTP/1.1\r\n")


@pytest.mark.parametrize(
    "route",
    [
        {"forward": {"clusters": [{"cluster": "be"}], "retry": {"attempts": 2}}},
        {"fault": {"abort": {"status": 503, "percent": 0}}},
        {"requestHeaders": {"set": {"x-a": "1"}}},
    ],
    ids=["retry", "fault", "transform"],
)
async def test_a_route_with_more_layers_than_forward_takes_the_general_path_from_route_match(
    route: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rig = Rig(config_dict(tmp_path, **route), monkeypatch)
    assert rig.stack.start is not None  # the listener still matches routes directly
    rig.client.data_received(GET)
    assert rig.upstream_bytes() == [b""]  # but this route's chain runs in a Task
    await settle()
    await rig.play([("upstream", OK)])
    assert rig.client_transport.data().endswith(b"hello")


async def test_a_listener_with_its_own_layers_has_no_direct_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = config_dict(tmp_path)
    cfg["rateLimits"] = [{"name": "rl", "key": {"type": "ClientIP"}, "requests": 5}]
    cfg["listeners"][0]["rateLimits"] = ["rl"]
    rig = Rig(cfg, monkeypatch)
    assert rig.stack.start is None


async def test_a_pipeline_of_local_replies_on_the_direct_path_never_recurses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rig = Rig(config_dict(tmp_path), monkeypatch)
    miss = GET.replace(b"a.example", b"b.example")
    for _ in range(40):
        rig.client.data_received(miss * 50)
        await settle()
    for _ in range(200):
        await settle()
        if rig.client_transport.data().count(b" 404 ") == 2000:
            break
    assert rig.client_transport.data().count(b"HTTP/1.1 404 ") == 2000


async def test_no_idle_connection_connects_on_the_general_path_and_the_next_request_reuses_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rig = Rig(config_dict(tmp_path), monkeypatch, idle_upstreams=0)
    await rig.play([("client", GET), ("upstream", OK)])
    assert rig.connects == 1
    rig.client.data_received(GET)  # the pool now holds an idle connection: direct
    assert rig.upstream_bytes()[0].count(b"GET /p") == 2
    assert rig.pool.open_connections == 1
