"""The proxy's own log lines: one JSON object per line, quotes and tracebacks included."""

from __future__ import annotations

import io
import json
import logging

import pytest

from meshproxy.observability import logformat


def _emit(level_name: str, emit: str) -> list[dict[str, str]]:
    stream = io.StringIO()
    logformat.setup(level_name, stream)
    log = logging.getLogger("meshproxy.test")
    try:
        if emit == "exception":
            try:
                raise ValueError('bad "value"')
            except ValueError:
                log.exception("config %s refused", "/etc/x'y")
        else:
            getattr(log, emit)("said %r", "it's")
    finally:
        logging.getLogger().handlers.clear()
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_traceback_stays_inside_one_line() -> None:
    (line,) = _emit("info", "exception")
    assert line["message"] == "config /etc/x'y refused"
    assert line["severity"] == "error"
    assert line["exception"].startswith("Traceback")
    assert 'ValueError: bad "value"' in line["exception"]


def test_timestamp_is_utc_iso_with_milliseconds() -> None:
    (line,) = _emit("info", "info")
    assert line["timestamp"].endswith("+00:00")
    assert len(line["timestamp"]) == len("2026-01-01T00:00:00.000+00:00")
    assert line["logger"] == "meshproxy.test"
    assert line["message"] == 'said "it\'s"'


@pytest.mark.parametrize(
    ("level", "emit", "written"),
    [("warning", "info", False), ("warning", "warning", True), ("debug", "debug", True)],
)
def test_level_decides_what_is_written(level: str, emit: str, written: bool) -> None:
    assert bool(_emit(level, emit)) is written


def test_an_unknown_level_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="not 'loud'"):
        logformat.level("loud")
