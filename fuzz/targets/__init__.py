"""The fuzz targets, by name: the module that holds `one_input`, and which packages atheris
instruments for coverage (the parser under test; C extensions such as httptools cannot be
instrumented, so their callbacks into meshproxy are what the coverage sees)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    name: str
    module: str
    instrument: tuple[str, ...]
    max_len: int


TARGETS = {
    t.name: t
    for t in (
        Target("http1_request", "fuzz.targets.http1_request", ("meshproxy",), 4096),
        Target("http1_response", "fuzz.targets.http1_response", ("meshproxy",), 4096),
        Target("jwt_token", "fuzz.targets.jwt_token", ("meshproxy", "jwt"), 4096),
        Target("jwks_document", "fuzz.targets.jwks_document", ("meshproxy", "jwt"), 8192),
        Target("proxy_config", "fuzz.targets.proxy_config", ("meshproxy",), 32768),
        Target("tls_client_hello", "fuzz.targets.tls_client_hello", ("meshproxy",), 4096),
    )
}
