"""The proxy's own log lines (not the access log): one JSON object per line on stderr.

The keys are the operator's (kopf's JSON format): `timestamp` (UTC, ISO 8601 with milliseconds),
`severity` (debug, info, warn, error, fatal), `message`, plus `logger`, and `exception` with the
formatted traceback when there is one, so one log pipeline parses both programs and no line
ever spans two.

This module must never write anything itself; `setup` only installs the handler.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import IO

LEVELS = ("debug", "info", "warning", "error")


def severity(levelno: int) -> str:
    if levelno <= logging.DEBUG:
        return "debug"
    if levelno <= logging.INFO:
        return "info"
    if levelno <= logging.WARNING:
        return "warn"
    if levelno <= logging.ERROR:
        return "error"
    return "fatal"


def timestamp(created: float) -> str:
    seconds = int(created)
    millis = int((created - seconds) * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}+00:00"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, str] = {
            "timestamp": timestamp(record.created),
            "severity": severity(record.levelno),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, separators=(",", ":"))


def level(name: str) -> int:
    """`debug`, `info`, `warning` or `error` (any case) as a logging level; ValueError else."""
    if name.lower() not in LEVELS:
        raise ValueError(f"log level must be one of {', '.join(LEVELS)}, not {name!r}")
    return int(getattr(logging, name.upper()))


def setup(level_name: str, stream: IO[str] | None = None) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level(level_name))
