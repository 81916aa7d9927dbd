"""Identity settings read from the environment, beside the operator's `meshgate.settings`.

Pure parsing of a mapping passed in: nothing here reads the process environment on import.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from meshgate.certs.rotation import MIN_CHECK_INTERVAL
from meshgate.certs.workload import WORKLOAD_VALIDITY

DEFAULT_CA_SECRET = "meshgate-ca"  # noqa: S105 - a Secret name, not a secret
# A workload certificate still unrenewed with a sixth of its life left (4 h of 24 h) means
# renewal has been failing for half of the slack the 2/3 rule leaves: worth a warning.
WORKLOAD_WARNING_FRACTION = 6
CA_WARNING = timedelta(days=30)


@dataclass(frozen=True)
class IdentitySettings:
    ca_secret: str = DEFAULT_CA_SECRET
    # The chart's `ca.source`: "generate" or "existing"; empty means "decide by the name".
    ca_source: str = ""
    workload_validity: timedelta = WORKLOAD_VALIDITY
    ca_warning: timedelta = CA_WARNING
    # The shortest wait between renewal checks; tests with 30 s certificates lower it.
    min_check_interval: timedelta = MIN_CHECK_INTERVAL

    @property
    def ca_supplied(self) -> bool:
        """The user's CA (e.g. cert-manager's): the operator waits for it and never writes it.
        Said by `MESHGATE_CA_SOURCE=existing`; without a source, a CA Secret under another name
        than the default is the user's. (The chart names the Secret `<release>-ca` even when
        the operator generates it.)"""
        if self.ca_source:
            return self.ca_source == "existing"
        return self.ca_secret != DEFAULT_CA_SECRET

    @property
    def workload_warning(self) -> timedelta:
        return self.workload_validity / WORKLOAD_WARNING_FRACTION

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> IdentitySettings:
        env = os.environ if env is None else env
        d = cls()
        supplied = env.get("MESHGATE_CA_SECRET", "").strip()
        source = env.get("MESHGATE_CA_SOURCE", "").strip()
        if source not in ("", "generate", "existing"):
            raise ValueError(f"MESHGATE_CA_SOURCE must be generate or existing, not {source!r}")
        return cls(
            ca_secret=supplied or d.ca_secret,
            ca_source=source,
            workload_validity=_seconds(
                env, "MESHGATE_IDENTITY_VALIDITY_SECONDS", d.workload_validity
            ),
            ca_warning=_seconds(env, "MESHGATE_CA_WARNING_SECONDS", d.ca_warning),
            min_check_interval=_seconds(
                env, "MESHGATE_IDENTITY_MIN_CHECK_SECONDS", d.min_check_interval
            ),
        )


def _seconds(env: Mapping[str, str], name: str, default: timedelta) -> timedelta:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a number of seconds") from None
    if value <= 0:
        raise ValueError(f"{name} must be positive, got {raw!r}")
    return timedelta(seconds=value)
