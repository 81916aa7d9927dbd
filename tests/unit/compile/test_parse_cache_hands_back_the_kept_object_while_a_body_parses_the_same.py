"""The parse cache hands back the very object it kept while a body's resourceVersion holds, and
also when a new resourceVersion parses to the same thing (a status write): the compiler then
finds the object unchanged by identity. A spec or a meshgate.io annotation that moved gives a new
object."""

from __future__ import annotations

import copy
from typing import Any

from meshgate.api.v1alpha1.route import RouteSpec
from meshgate.compile.ingest import ParseCache, parse_resource


def _parse(body: Any) -> Any:
    return parse_resource("Route", RouteSpec, body)


def _route(version: str, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "metadata": {"namespace": "shop", "name": "r", "resourceVersion": version},
        "spec": {
            "parentRefs": [{"name": "edge"}],
            "hostnames": ["shop.example.com"],
            "rules": [{"backendRefs": [{"name": "orders", "port": 8080}]}],
        },
    }
    body["metadata"].update(changes.pop("metadata", {}))
    body.update(changes)
    return body


def test_a_status_write_keeps_the_object_and_a_spec_or_annotation_change_does_not() -> None:
    cache = ParseCache()
    kept = cache.get("Route", _route("1"), _parse)
    assert cache.get("Route", _route("1"), _parse) is kept
    status_written = _route("2", status={"observedGeneration": 1})
    assert cache.get("Route", status_written, _parse) is kept
    assert cache.parsed == 2  # parsed again, found the same

    spec = copy.deepcopy(status_written["spec"])
    spec["hostnames"] = ["other.example.com"]
    edited = cache.get("Route", _route("3", spec=spec), _parse)
    assert kept.spec is not None
    assert edited is not kept
    assert edited.spec.hostnames == ["other.example.com"]

    described = cache.get(
        "Route",
        _route("4", spec=spec, metadata={"annotations": {"meshgate.io/description": "d"}}),
        _parse,
    )
    assert described is not edited
    assert described.meta.annotations == {"meshgate.io/description": "d"}


def _named(name: str, version: str) -> dict[str, Any]:
    body = _route(version)
    body["metadata"]["name"] = name
    return body


def _by_key(o: Any) -> tuple[str, str]:
    return (o.meta.namespace, o.meta.name)


def test_the_same_bodies_read_again_give_the_same_sorted_tuple_and_a_replaced_one_is_read() -> None:
    bodies = [_named(n, "1") for n in ("c", "a", "b")]
    cache = ParseCache()
    cache.begin()
    first = cache.sorted_of("Route", bodies, _parse, _by_key)
    cache.end()
    assert [r.meta.name for r in first] == ["a", "b", "c"]
    cache.begin()
    assert cache.sorted_of("Route", list(bodies), _parse, _by_key) is first
    cache.end()
    assert cache.parsed == 0  # nothing parsed, and nothing forgotten by `end`
    bodies[1] = _named("a", "2")
    bodies[1]["spec"]["hostnames"] = ["moved.example.com"]
    cache.begin()
    again = cache.sorted_of("Route", bodies, _parse, _by_key)
    cache.end()
    assert cache.parsed == 1
    assert again is not first
    assert again[1:] == first[1:]
    assert again[1] is first[1]
    assert again[0].spec.hostnames == ["moved.example.com"]
    cache.begin()
    fewer = cache.sorted_of("Route", bodies[1:], _parse, _by_key)
    cache.end()
    assert [r.meta.name for r in fewer] == ["a", "b"]
    assert cache.parsed == 0


def test_a_body_replaced_in_place_by_a_status_write_gives_the_very_same_tuple() -> None:
    bodies = [_named(n, "1") for n in ("c", "a", "b")]
    cache = ParseCache()
    cache.begin()
    first = cache.sorted_of("Route", bodies, _parse, _by_key)
    cache.end()
    bodies[0] = _named("c", "2")  # another resourceVersion, the same spec
    cache.begin()
    assert cache.sorted_of("Route", bodies, _parse, _by_key) is first
    cache.end()
    assert cache.parsed == 1  # that body alone
