"""Who edge authentication found a request to be: the rate-limit layer keys buckets on it.

This module must never hold a credential: only what was established from one (the consumer a
key belongs to, the claims of a verified token).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True, slots=True)
class Principal:
    method: Literal["apiKey", "jwt"]
    policy: str  # the authn policy that accepted the request
    consumer: str | None = None  # the API key's consumer
    claims: Mapping[str, Any] = field(default_factory=dict)  # a verified token's claims

    @property
    def subject(self) -> str | None:
        sub = self.claims.get("sub")
        return sub if isinstance(sub, str) else None
