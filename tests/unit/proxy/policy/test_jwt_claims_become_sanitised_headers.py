"""claim_headers: chosen claims of a verified token become header values that cannot inject."""

from __future__ import annotations

from typing import Any

import pytest

from meshproxy import config
from meshproxy.policy.headers import is_valid_header_value
from meshproxy.policy.jwt import JwtResult, claim_headers, forwarded_header_names


def provider(*mappings: tuple[str, str]) -> config.JwtProvider:
    return config.JwtProvider.from_data(
        {
            "issuer": "https://id.example.test",
            "claimToHeaders": [{"claim": c, "header": h} for c, h in mappings],
        }
    )


def verified(**claims: Any) -> JwtResult:
    return JwtResult(ok=True, issuer="https://id.example.test", claims=claims)


def test_string_claims_are_forwarded_as_they_are() -> None:
    p = provider(("sub", "X-User"), ("email", "x-email"))
    assert claim_headers(verified(sub="alice", email="a@example.test"), p) == [
        ("x-user", "alice"),
        ("x-email", "a@example.test"),
    ]


def test_non_string_claims_are_compact_json() -> None:
    p = provider(("roles", "x-roles"), ("admin", "x-admin"), ("level", "x-level"))
    got = dict(claim_headers(verified(roles=["a", "b"], admin=False, level=3), p))
    assert got == {"x-roles": '["a","b"]', "x-admin": "false", "x-level": "3"}


@pytest.mark.parametrize(
    "evil",
    ["alice\r\nx-admin: true", "alice\nset-cookie: s=1", "alice\x00", "a\x7fb\x1b[0m"],
)
def test_control_characters_never_reach_a_header(evil: str) -> None:
    [(name, value)] = claim_headers(verified(sub=evil), provider(("sub", "x-user")))
    assert name == "x-user"
    assert is_valid_header_value(value.encode("latin-1"))
    assert "\r" not in value
    assert "\n" not in value
    assert "\x00" not in value


def test_non_ascii_is_percent_encoded_so_the_value_is_latin1_safe() -> None:
    [(_, value)] = claim_headers(verified(name="José 日本"), provider(("name", "x-name")))
    assert value == "Jos%C3%A9 %E6%97%A5%E6%9C%AC"
    value.encode("ascii")


def test_json_encoded_claims_with_newlines_stay_on_one_line() -> None:
    [(_, value)] = claim_headers(
        verified(profile={"bio": "line1\nline2"}), provider(("profile", "x-profile"))
    )
    assert value == '{"bio":"line1\\nline2"}'


def test_nested_claims_by_dotted_path_and_exact_names_with_dots() -> None:
    p = provider(("org.id", "x-org"), ("https://example.test/tenant", "x-tenant"))
    got = claim_headers(verified(org={"id": "o-1"}, **{"https://example.test/tenant": "t-9"}), p)
    assert got == [("x-org", "o-1"), ("x-tenant", "t-9")]


def test_missing_claims_and_failed_results_add_no_header() -> None:
    p = provider(("sub", "x-user"), ("absent", "x-absent"))
    assert claim_headers(verified(sub="alice"), p) == [("x-user", "alice")]
    assert claim_headers(JwtResult(ok=False, reason="expired"), p) == []


def test_forwarded_header_names_lists_every_claim_header_for_stripping() -> None:
    assert forwarded_header_names(
        [provider(("sub", "X-User")), provider(("email", "x-email"))]
    ) == frozenset({"x-user", "x-email"})
