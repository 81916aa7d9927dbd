"""ResponseCache: what may be stored, for how long, under which key, and within which bounds."""

from __future__ import annotations

import pytest

from meshproxy import config
from meshproxy.policy.cache import ResponseCache

DATE = "Tue, 01 Dec 2026 10:00:00 GMT"


def cache(**spec: object) -> ResponseCache:
    return ResponseCache(config.Cache.from_data(spec))


def put(
    rc: ResponseCache,
    headers: list[tuple[str, str]],
    *,
    status: int = 200,
    body: bytes = b"hello",
    method: str = "GET",
    path: str = "/p",
    request: dict[str, str] | None = None,
    now: float = 0.0,
) -> bool:
    return rc.store(method, "h", path, "", request or {}, status, headers, body, now)


def get(
    rc: ResponseCache,
    *,
    method: str = "GET",
    path: str = "/p",
    request: dict[str, str] | None = None,
    now: float = 0.0,
) -> bytes | None:
    hit = rc.lookup(method, "h", path, "", request or {}, now)
    return None if hit is None else hit.body


def test_max_age_response_is_served_until_it_is_stale() -> None:
    rc = cache()
    assert put(rc, [("Cache-Control", "max-age=60"), ("Content-Type", "text/plain")])
    hit = rc.lookup("GET", "h", "/p", "", {}, 30.0)
    assert hit is not None
    assert (hit.status, hit.body, hit.age(30.0)) == (200, b"hello", 30)
    assert ("Content-Type", "text/plain") in hit.headers
    assert get(rc, now=60.0) is None
    assert len(rc) == 0  # stale entries are dropped when met


def test_head_is_answered_from_the_get_entry_but_never_stored() -> None:
    rc = cache()
    assert not put(rc, [("Cache-Control", "max-age=60")], method="HEAD")
    assert put(rc, [("Cache-Control", "max-age=60")])
    assert get(rc, method="HEAD") == b"hello"
    assert get(rc, method="POST") is None


def test_key_includes_host_path_and_query() -> None:
    rc = cache()
    rc.store("GET", "h", "/p", "a=1", {}, 200, [("cache-control", "max-age=9")], b"x", 0.0)
    assert rc.lookup("GET", "h", "/p", "a=1", {}, 1.0) is not None
    assert rc.lookup("GET", "h", "/p", "a=2", {}, 1.0) is None
    assert rc.lookup("GET", "other", "/p", "a=1", {}, 1.0) is None
    assert rc.lookup("GET", "h", "/q", "a=1", {}, 1.0) is None


@pytest.mark.parametrize(
    ("headers", "status", "stored"),
    [
        ([("cache-control", "max-age=60")], 200, True),
        ([("cache-control", "max-age=60")], 404, True),
        ([("cache-control", "max-age=60")], 301, True),
        ([("cache-control", "max-age=60")], 500, False),
        ([("cache-control", "max-age=60")], 206, False),
        ([("cache-control", "max-age=60")], 302, False),
        ([("cache-control", "no-store, max-age=60")], 200, False),
        ([("cache-control", "private, max-age=60")], 200, False),
        ([("cache-control", "no-cache")], 200, False),
        ([("cache-control", "max-age=0")], 200, False),
        ([("cache-control", "max-age=abc")], 200, False),
        ([("cache-control", "max-age=60"), ("set-cookie", "s=1")], 200, False),
        ([("cache-control", "max-age=60"), ("vary", "*")], 200, False),
        ([("cache-control", "max-age=60"), ("age", "60")], 200, False),
        ([], 200, False),  # says nothing, and default_ttl is 0
    ],
)
def test_what_may_be_stored(headers: list[tuple[str, str]], status: int, stored: bool) -> None:
    rc = cache()
    assert put(rc, headers, status=status) is stored
    assert (get(rc) is not None) is stored


def test_s_maxage_overrides_max_age() -> None:
    rc = cache()
    put(rc, [("cache-control", "max-age=1, s-maxage=100")])
    assert get(rc, now=50.0) == b"hello"


def test_expires_counts_from_date() -> None:
    rc = cache()
    put(rc, [("date", DATE), ("expires", "Tue, 01 Dec 2026 10:00:30 GMT")])
    assert get(rc, now=29.0) == b"hello"
    assert get(rc, now=30.0) is None


@pytest.mark.parametrize(
    "headers",
    [
        [("date", DATE), ("expires", "0")],
        [("date", DATE), ("expires", "Tue, 01 Dec 2026 09:00:00 GMT")],
        [("expires", "Tue, 01 Dec 2026 10:00:30 GMT")],  # no Date to read it against
    ],
)
def test_unusable_expires_means_stale(headers: list[tuple[str, str]]) -> None:
    assert not put(cache(defaultTtl=60), headers)


def test_default_ttl_applies_only_when_the_response_says_nothing() -> None:
    rc = cache(defaultTtl=10)
    assert put(rc, [("content-type", "text/plain")])
    assert get(rc, now=9.0) == b"hello"
    assert get(rc, now=10.0) is None


def test_upstream_age_counts_against_freshness() -> None:
    rc = cache()
    put(rc, [("cache-control", "max-age=60"), ("age", "50")])
    hit = rc.lookup("GET", "h", "/p", "", {}, 5.0)
    assert hit is not None
    assert hit.age(5.0) == 55
    assert not any(name.lower() == "age" for name, _ in hit.headers)
    assert get(rc, now=10.0) is None


def test_hop_by_hop_headers_are_not_stored() -> None:
    rc = cache()
    put(rc, [("cache-control", "max-age=9"), ("Connection", "close"), ("x-a", "1")])
    hit = rc.lookup("GET", "h", "/p", "", {}, 0.0)
    assert hit is not None
    assert hit.headers == [("cache-control", "max-age=9"), ("x-a", "1")]


@pytest.mark.parametrize(
    "request_headers",
    [
        {"cache-control": "no-cache"},
        {"cache-control": "no-store"},
        {"pragma": "no-cache"},
        {"cache-control": "max-age=5"},
    ],
)
def test_request_cache_control_bypasses_the_entry(request_headers: dict[str, str]) -> None:
    rc = cache()
    put(rc, [("cache-control", "max-age=60")])
    assert get(rc, request=request_headers, now=10.0) is None
    assert get(rc, now=10.0) == b"hello"


def test_request_no_store_is_not_stored() -> None:
    rc = cache()
    assert not put(rc, [("cache-control", "max-age=60")], request={"cache-control": "no-store"})


def test_vary_keys_on_the_named_request_headers() -> None:
    rc = cache()
    vary = [("cache-control", "max-age=60"), ("vary", "Accept-Encoding")]
    put(rc, vary, body=b"gzip", request={"accept-encoding": "gzip"})
    put(rc, vary, body=b"plain", request={})
    assert get(rc, request={"accept-encoding": "gzip"}) == b"gzip"
    assert get(rc, request={}) == b"plain"
    assert get(rc, request={"accept-encoding": "br"}) is None


def test_vary_change_drops_the_old_variants() -> None:
    rc = cache()
    put(rc, [("cache-control", "max-age=60"), ("vary", "x-a")], request={"x-a": "1"})
    put(rc, [("cache-control", "max-age=60"), ("vary", "x-b")], request={"x-b": "1"}, body=b"b")
    assert len(rc) == 1
    assert get(rc, request={"x-a": "1", "x-b": "1"}) == b"b"


def test_authorization_needs_an_explicitly_shareable_response() -> None:
    rc = cache()
    auth = {"authorization": "Bearer t"}
    assert not put(rc, [("cache-control", "max-age=60")], request=auth)
    assert put(rc, [("cache-control", "max-age=60")])
    assert get(rc, request=auth) is None  # stored for anonymous use only
    assert put(rc, [("cache-control", "public, max-age=60")], path="/pub", request=auth)
    assert get(rc, path="/pub", request=auth) == b"hello"


def test_entry_bound_evicts_least_recently_used() -> None:
    rc = cache(maxEntries=2)
    for path in ("/a", "/b"):
        put(rc, [("cache-control", "max-age=60")], path=path)
    assert get(rc, path="/a") is not None  # /a is now more recent than /b
    put(rc, [("cache-control", "max-age=60")], path="/c")
    assert get(rc, path="/b") is None
    assert get(rc, path="/a") is not None
    assert get(rc, path="/c") is not None


def test_body_bytes_bound_all_entries_together() -> None:
    rc = cache(maxBodyBytes=10)
    assert not put(rc, [("cache-control", "max-age=60")], body=b"x" * 11)
    assert put(rc, [("cache-control", "max-age=60")], path="/a", body=b"x" * 6)
    assert put(rc, [("cache-control", "max-age=60")], path="/b", body=b"y" * 6)
    assert get(rc, path="/a") is None
    assert get(rc, path="/b") == b"y" * 6
    assert rc.body_bytes == 6


def test_restoring_a_key_replaces_it_and_keeps_the_byte_count() -> None:
    rc = cache()
    put(rc, [("cache-control", "max-age=60")], body=b"one")
    put(rc, [("cache-control", "max-age=60")], body=b"three")
    assert get(rc) == b"three"
    assert (len(rc), rc.body_bytes) == (1, 5)


def test_configured_vary_headers_key_entries_even_when_the_response_names_none() -> None:
    rc = cache(vary=["Accept-Language"])
    fresh = [("cache-control", "max-age=60")]
    put(rc, fresh, body=b"english", request={"accept-language": "en"})
    put(rc, fresh, body=b"french", request={"accept-language": "fr"})
    assert get(rc, request={"accept-language": "en"}) == b"english"
    assert get(rc, request={"accept-language": "fr"}) == b"french"
    assert get(rc, request={}) is None
    assert len(rc) == 2


def test_configured_and_response_vary_headers_add_up() -> None:
    rc = cache(vary=["x-tenant"])
    put(
        rc,
        [("cache-control", "max-age=60"), ("vary", "Accept-Encoding")],
        body=b"a-gzip",
        request={"x-tenant": "a", "accept-encoding": "gzip"},
    )
    assert get(rc, request={"x-tenant": "a", "accept-encoding": "gzip"}) == b"a-gzip"
    assert get(rc, request={"x-tenant": "b", "accept-encoding": "gzip"}) is None
    assert get(rc, request={"x-tenant": "a"}) is None
