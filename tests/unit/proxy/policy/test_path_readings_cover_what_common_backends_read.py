"""path_readings: every path a common backend could take a canonical path for, the path first."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meshproxy.policy.path_readings import path_readings
from meshproxy.policy.paths import normalize_path


def readings(target: str) -> tuple[str, ...]:
    normalized = normalize_path(target)
    assert normalized is not None, target
    return path_readings(normalized[0])


@pytest.mark.parametrize(
    ("target", "reading"),
    [
        # encoded slashes and backslashes become separators
        ("/x/..%2Fadmin", "/admin"),
        ("/x/..%2fadmin", "/admin"),
        ("/admin%2Fusers", "/admin/users"),
        ("/%2Fadmin", "/admin"),
        ("/x/..%5Cadmin", "/admin"),
        ("/x/..\\admin", "/admin"),
        ("/admin\\users", "/admin/users"),
        # double and deeper encoding
        ("/x/%252e%252e/admin", "/admin"),
        ("/%2561dmin", "/admin"),
        ("/%25%32%46admin", "/admin"),
        ("/a/..%25252Fadmin", "/admin"),
        # path parameters, Tomcat's `..;` included
        ("/admin;jsessionid=1", "/admin"),
        ("/admin;a/users", "/admin/users"),
        ("/x/..;/admin", "/admin"),
        ("/admin%3Bx", "/admin"),
        # whitespace around segments, trailing dots
        ("/admin%20", "/admin"),
        ("/%20admin", "/admin"),
        ("/admin%2509", "/admin"),
        ("/admin.", "/admin"),
        ("/admin%20.%20", "/admin"),
        ("/x/..%20/admin", "/admin"),
        # where a decoding backend's path ends
        ("/admin%2500.jpg", "/admin"),
        ("/admin%3F.css", "/admin"),
        ("/admin%23x", "/admin"),
        # overlong UTF-8
        ("/x/..%C0%AFadmin", "/admin"),
        ("/x/%C0%AE%C0%AE/admin", "/admin"),
        ("/x/..%25c0%25afadmin", "/admin"),
    ],
)
def test_an_ambiguous_path_has_the_reading_a_backend_makes(target: str, reading: str) -> None:
    found = readings(target)
    assert reading in found
    assert found[0] != reading  # the path as forwarded comes first and stays as it is


@pytest.mark.parametrize(
    "target",
    ["/", "/admin", "/api/items", "/static/app.js", "/.well-known/acme", "/a/b/", "/ADMIN"],
)
def test_a_plain_path_is_its_only_reading(target: str) -> None:
    assert readings(target) == (target,)


@pytest.mark.parametrize(
    "target",
    ["/caf%C3%A9", "/files/a%20b", "/admin%A0", "/q%3Dx"],
)
def test_escapes_that_change_no_structure_stay_as_they_are(target: str) -> None:
    assert readings(target) == (normalize_path(target) or ("", ""))[0:1]


def test_decoding_is_bounded_and_still_ends() -> None:
    deep = "/a/.." + "%25" * 50 + "2Fadmin"
    normalized = normalize_path(deep)
    assert normalized is not None
    found = path_readings(normalized[0])
    assert "/admin" not in found
    assert len(found) <= 4


_PIECES = st.sampled_from(
    [*"/./..aZ09;\\%", "%2e", "%2f", "%5c", "%25", "%20", "%3b", "%00", "%3f", "%c0%af", "admin"]
)


@settings(max_examples=300)
@given(st.lists(_PIECES, max_size=25).map(lambda parts: "/" + "".join(parts)))
def test_every_reading_is_an_absolute_path_without_dot_segments(target: str) -> None:
    normalized = normalize_path(target)
    if normalized is None:
        return
    found = path_readings(normalized[0])
    assert found[0] == normalized[0]
    assert len(set(found)) == len(found) <= 4
    for reading in found[1:]:
        segments = reading.split("/")
        assert reading.startswith("/")
        assert "//" not in reading
        assert "." not in segments
        assert ".." not in segments
