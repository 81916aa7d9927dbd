"""Why an upstream attempt failed, in the words retry policy and outlier detection use.

The text of the original error never goes further than this type: clients only ever see the
fixed replies of `http.canned`.
"""

from __future__ import annotations

from typing import Literal

Failure = Literal["connect-failure", "reset", "timeout", "overflow", "protocol"]

# What a client is answered when the last attempt failed this way.
STATUS: dict[str, int] = {
    "connect-failure": 503,
    "reset": 502,
    "timeout": 504,
    "overflow": 503,
    "protocol": 502,
}


class UpstreamFailure(Exception):
    def __init__(self, kind: Failure, reused: bool = False) -> None:
        super().__init__(kind)
        self.kind: Failure = kind
        # The connection had served earlier requests and died before any response byte:
        # the classic keep-alive race, safe to try once more on a fresh connection.
        self.reused = reused

    @property
    def status(self) -> int:
        return STATUS[self.kind]
