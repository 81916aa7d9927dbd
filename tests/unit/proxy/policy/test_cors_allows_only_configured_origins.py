"""CorsPolicy: preflight answers and response headers, as the Gateway API's CORS filter asks."""

from __future__ import annotations

import pytest

from meshproxy import config
from meshproxy.policy.cors import CorsPolicy


def cors(**spec: object) -> CorsPolicy:
    return CorsPolicy(config.Cors.from_data(spec))


PREFLIGHT = {"access-control-request-method": "PUT", "access-control-request-headers": "x-a"}


def as_dict(headers: list[tuple[str, str]] | None) -> dict[str, str]:
    assert headers is not None
    return dict(headers)


def test_preflight_from_a_listed_origin() -> None:
    policy = cors(
        allowOrigins=["https://app.example.com"],
        allowMethods=["GET", "PUT"],
        allowHeaders=["x-a", "x-b"],
        maxAge=600,
        allowCredentials=True,
    )
    got = as_dict(policy.preflight("https://app.example.com", "OPTIONS", PREFLIGHT))
    assert got["access-control-allow-origin"] == "https://app.example.com"
    assert got["access-control-allow-methods"] == "GET, PUT"
    assert got["access-control-allow-headers"] == "x-a, x-b"
    assert got["access-control-max-age"] == "600"
    assert got["access-control-allow-credentials"] == "true"
    assert "Origin" in got["vary"]


@pytest.mark.parametrize(
    ("origin", "method", "headers"),
    [
        ("https://a.com", "GET", PREFLIGHT),  # not OPTIONS
        (None, "OPTIONS", PREFLIGHT),  # not cross-origin
        ("https://a.com", "OPTIONS", {}),  # a plain OPTIONS request
    ],
)
def test_what_is_not_a_preflight_is_left_alone(
    origin: str | None, method: str, headers: dict[str, str]
) -> None:
    assert cors(allowOrigins=["*"]).preflight(origin, method, headers) is None


def test_preflight_from_another_origin_gets_no_allow_origin() -> None:
    policy = cors(allowOrigins=["https://app.example.com"], allowMethods=["PUT"])
    got = as_dict(policy.preflight("https://evil.example", "OPTIONS", PREFLIGHT))
    assert "access-control-allow-origin" not in got
    assert "access-control-allow-methods" not in got


def test_regex_origins_match_whole_origin() -> None:
    policy = cors(allowOriginRegexes=[r"https://[a-z]+\.example\.com"])
    assert ("access-control-allow-origin", "https://shop.example.com") in policy.response_headers(
        "https://shop.example.com"
    )
    evil = policy.response_headers("https://shop.example.com.evil.net")
    assert not any(name == "access-control-allow-origin" for name, _ in evil)


def test_bad_origin_regex_fails_at_load() -> None:
    with pytest.raises(ValueError, match="allowOriginRegexes"):
        cors(allowOriginRegexes=["("])


def test_wildcard_without_credentials_answers_star_and_does_not_vary() -> None:
    policy = cors(allowOrigins=["*"], exposeHeaders=["x-total"])
    assert policy.response_headers("https://any.site") == [
        ("access-control-allow-origin", "*"),
        ("access-control-expose-headers", "x-total"),
    ]
    assert policy.response_headers(None) == []


def test_star_with_credentials_echoes_any_origin_with_credentials() -> None:
    # The Gateway API's rule for `*` with allowCredentials (meshgate's own Route refuses the pair).
    policy = cors(allowOrigins=["*"], allowMethods=["*"], allowCredentials=True)
    anyone = as_dict(policy.response_headers("https://any.site"))
    assert anyone["access-control-allow-origin"] == "https://any.site"
    assert anyone["access-control-allow-credentials"] == "true"
    assert anyone["vary"] == "Origin"
    assert policy.response_headers(None) == [("vary", "Origin")]
    got = as_dict(policy.preflight("https://any.site", "OPTIONS", PREFLIGHT))
    assert got["access-control-allow-origin"] == "https://any.site"
    assert got["access-control-allow-credentials"] == "true"
    assert got["access-control-allow-methods"] == "PUT"  # never `*` with credentials


def test_star_without_credentials_never_allows_credentials() -> None:
    policy = cors(allowOrigins=["*"])
    for credentialed in (False, True):
        got = as_dict(policy.response_headers("https://any.site", credentialed))
        assert "access-control-allow-credentials" not in got
    got = as_dict(policy.preflight("https://any.site", "OPTIONS", PREFLIGHT))
    assert got["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in got


def test_a_credentialed_request_allowed_by_star_gets_its_origin_never_star() -> None:
    policy = cors(allowOrigins=["*"])
    assert policy.response_headers("https://any.site", credentialed=True) == [
        ("access-control-allow-origin", "https://any.site"),
        ("vary", "Origin"),
    ]


def test_listed_origins_get_credentials_when_allowed() -> None:
    policy = cors(allowOrigins=["https://trusted.com"], allowCredentials=True)
    trusted = as_dict(policy.response_headers("https://trusted.com"))
    assert trusted["access-control-allow-origin"] == "https://trusted.com"
    assert trusted["access-control-allow-credentials"] == "true"
    assert trusted["vary"] == "Origin"


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("https://www.bar.com", True),
        ("https://xpto.www.bar.com", True),  # any number of labels in place of `*`
        ("https://bar.com", False),
        ("http://www.bar.com", False),  # another scheme
        ("https://www.bar.com:8443", False),  # another port
        ("https://www.bar.com.evil.net", False),
        ("https://evil.net/.bar.com", False),
    ],
)
def test_a_wildcard_host_in_an_origin_matches_any_labels_in_its_place(
    origin: str, allowed: bool
) -> None:
    policy = cors(allowOrigins=["https://www.foo.com", "https://*.bar.com"])
    got = as_dict(policy.response_headers(origin))
    assert got.get("access-control-allow-origin") == (origin if allowed else None)


def test_a_preflight_says_which_response_headers_are_exposed() -> None:
    policy = cors(allowOrigins=["https://a.com"], exposeHeaders=["x-3", "x-4"])
    got = as_dict(policy.preflight("https://a.com", "OPTIONS", PREFLIGHT))
    assert got["access-control-expose-headers"] == "x-3, x-4"


def test_star_methods_and_headers_are_echoed_with_credentials() -> None:
    policy = cors(
        allowOrigins=["https://a.com"],
        allowMethods=["*"],
        allowHeaders=["*"],
        allowCredentials=True,
    )
    got = as_dict(policy.preflight("https://a.com", "OPTIONS", PREFLIGHT))
    assert got["access-control-allow-methods"] == "PUT"
    assert got["access-control-allow-headers"] == "x-a"
    plain = cors(allowOrigins=["https://a.com"], allowMethods=["*"], allowHeaders=["*"])
    got = as_dict(plain.preflight("https://a.com", "OPTIONS", PREFLIGHT))
    assert got["access-control-allow-methods"] == "*"
    assert got["access-control-allow-headers"] == "*"


def test_responses_vary_by_origin_when_the_answer_depends_on_it() -> None:
    policy = cors(allowOrigins=["https://a.com"])
    assert policy.response_headers(None) == [("vary", "Origin")]
    assert policy.response_headers("https://b.com") == [("vary", "Origin")]
    assert policy.response_headers("https://a.com") == [
        ("access-control-allow-origin", "https://a.com"),
        ("vary", "Origin"),
    ]
