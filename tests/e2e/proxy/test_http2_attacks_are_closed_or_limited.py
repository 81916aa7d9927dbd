"""The known HTTP/2 attacks against a running meshproxy: each is closed or limited, and the
proxy's memory and CPU stay bounded while it happens.

Each test speaks raw HTTP/2 frames (hyperframe/hpack, the layers under the `h2` library), so it
can send what a well-behaved client library never would: rapid resets (CVE-2023-44487),
CONTINUATION floods (CVE-2024-27316 class), SETTINGS and PING floods, a header block that
decodes into a huge list (HPACK bomb), a zero send window held forever, and more streams than
the proxy announced.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from hyperframe.frame import (
    ContinuationFrame,
    Frame,
    HeadersFrame,
    PingFrame,
    RstStreamFrame,
    SettingsFrame,
)
from meshproxy_e2e import Backends, Behaviour, cluster, config, forward, running
from raw_h2 import ENHANCE_YOUR_CALM, Bounded, RawH2, still_serves

pytestmark = pytest.mark.e2e


def _config(port: int, backend: int, **http2: Any) -> dict[str, Any]:
    limits = {"headerTimeout": 5, "http2": http2} if http2 else {"headerTimeout": 5}
    return config(port, [forward("r", "b")], [cluster("b", backend)], limits=limits)


def test_rapid_reset_gets_goaway_enhance_your_calm(
    tmp_path: Path, backends: Backends, port: int
) -> None:
    backend = backends.start(Behaviour("b", record=False))
    with running(tmp_path, _config(port, backend, maxResetsPerSecond=100)) as proxy:
        bounded = Bounded(proxy)
        client = RawH2(port)
        burst = b"".join(
            client.headers(sid, client.request_block())
            + bytes(RstStreamFrame(sid, error_code=8).serialize())  # CANCEL
            for sid in range(1, 2 * 5000, 2)
        )
        client.send(burst)
        goaway = client.goaway()
        assert goaway is not None
        assert goaway.error_code == ENHANCE_YOUR_CALM
        assert client.closed()
        client.close()
        bounded.check()
        still_serves(port)


def test_continuation_flood_is_refused_with_goaway(
    tmp_path: Path, backends: Backends, port: int
) -> None:
    backend = backends.start(Behaviour("b", record=False))
    with running(tmp_path, _config(port, backend)) as proxy:
        bounded = Bounded(proxy)
        client = RawH2(port)
        first = HeadersFrame(1, client.request_block())  # no END_HEADERS: more blocks follow
        junk = bytes(ContinuationFrame(1, b"\x40\x01a\x01b" * 3000).serialize())  # 15 KB each
        # 300 CONTINUATION frames, 4.5 MB of one header block, if the proxy took them all.
        client.send(bytes(first.serialize()) + junk * 300)
        goaway = client.goaway()
        assert goaway is not None
        assert goaway.error_code != 0
        assert client.closed()
        client.close()
        bounded.check()
        still_serves(port)


@pytest.mark.parametrize("kind", ["ping", "settings"])
def test_ping_and_settings_floods_get_goaway_enhance_your_calm(
    tmp_path: Path, backends: Backends, port: int, kind: str
) -> None:
    backend = backends.start(Behaviour("b", record=False))
    cfg = _config(port, backend, maxPingsPerSecond=50, maxSettingsPerSecond=50)
    with running(tmp_path, cfg) as proxy:
        bounded = Bounded(proxy)
        client = RawH2(port)
        frame: Frame = PingFrame(0, b"12345678") if kind == "ping" else SettingsFrame(0)
        client.send(bytes(frame.serialize()) * 10_000)
        goaway = client.goaway()
        assert goaway is not None
        assert goaway.error_code == ENHANCE_YOUR_CALM
        assert client.closed()
        client.close()
        bounded.check()
        still_serves(port)


def test_hpack_bomb_is_refused_before_the_list_is_built(
    tmp_path: Path, backends: Backends, port: int
) -> None:
    behaviour = Behaviour("b")
    backend = backends.start(behaviour)
    with running(tmp_path, _config(port, backend)) as proxy:
        bounded = Bounded(proxy)
        client = RawH2(port)
        # One 4 KB value enters the dynamic table once; each later copy is a one-byte index.
        # 20,000 copies decode to 80 MB from a block of about 24 KB.
        block = client.request_block(extra=[("x-bomb", "a" * 4000)] * 20_000)
        assert len(block) < 64 * 1024
        client.send(client.headers(1, block))
        goaway = client.goaway()
        assert goaway is not None
        assert goaway.error_code != 0
        client.close()
        bounded.check()
        assert behaviour.seen == []  # the refused block never became a request
        still_serves(port)


def test_a_zero_window_held_forever_is_reset_after_the_stall_timeout(
    tmp_path: Path, backends: Backends, port: int
) -> None:
    backend = backends.start(Behaviour("b", record=False))
    with running(tmp_path, _config(port, backend, stallTimeout=1)) as proxy:
        bounded = Bounded(proxy)
        # INITIAL_WINDOW_SIZE 0: the proxy may send the response head but no byte of its body.
        client = RawH2(port, settings={SettingsFrame.INITIAL_WINDOW_SIZE: 0})
        start = time.monotonic()
        client.send(client.headers(1, client.request_block("/stall")))
        reset = None
        for frame in client.frames(15):
            if isinstance(frame, RstStreamFrame) and frame.stream_id == 1:
                reset = frame
                break
        assert reset is not None, "the stalled stream was never reset"
        assert time.monotonic() - start >= 1
        client.close()
        bounded.check()
        still_serves(port)


def test_streams_beyond_the_announced_limit_end_the_connection(
    tmp_path: Path, backends: Backends, port: int
) -> None:
    backend = backends.start(Behaviour("b", delay=3.0, record=False))
    with running(tmp_path, _config(port, backend, maxConcurrentStreams=10)) as proxy:
        bounded = Bounded(proxy)
        client = RawH2(port)
        settings = next(f for f in client.frames(5) if isinstance(f, SettingsFrame))
        assert settings.settings[SettingsFrame.MAX_CONCURRENT_STREAMS] == 10
        # Ten streams wait on a slow backend; the eleventh is one too many.
        client.send(
            b"".join(client.headers(sid, client.request_block()) for sid in range(1, 23, 2))
        )
        goaway = client.goaway()
        assert goaway is not None
        assert goaway.error_code != 0
        client.close()
        bounded.check()
        still_serves(port)
