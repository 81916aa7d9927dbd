"""Listener isolation on a port that several listeners share. Pure.

A request belongs to the most specific listener of its port whose hostname matches it (an exact
name, then the longest wildcard, then the listener without a hostname), and only the routes of
that listener may answer it: a route of a less specific listener must never see it, even when the
route's own hostnames name it (the Gateway API's listener isolation). The proxy picks a virtual
host by the request's host in the same order (exact, longest wildcard, `*`), so the compiler
keeps isolation with two decisions:
- a route hostname is left out on a listener when a more specific listener of the port matches
  every host that hostname matches (`owned_by_a_more_specific_listener`);
- every listener hostname of a shared port has its virtual host, even with no route in it
  (`claimed_hostnames`), so a request for it gets 404 there instead of falling through to the
  virtual host of a less specific listener.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from meshgate.api.v1alpha1.gateway import Listener

from .hostnames import covers


def specificity(hostname: str | None) -> tuple[int, int]:
    """Orders listener hostnames as the proxy orders virtual hosts: no hostname, then
    wildcards by length, then exact names."""
    if hostname is None:
        return (0, 0)
    return (1 if hostname.startswith("*.") else 2, len(hostname))


def owned_by_a_more_specific_listener(
    host: str, listener: str | None, port_hostnames: Iterable[str | None]
) -> bool:
    """Whether every request `host` (a route hostname on `listener`, `*` for any) matches
    belongs to another listener of the port, more specific than `listener`."""
    mine = specificity(listener)
    return any(
        other is not None and specificity(other) > mine and (other == host or covers(other, host))
        for other in port_hostnames
    )


def claimed_hostnames(group: Sequence[Listener]) -> list[str]:
    """The hostnames that need a virtual host of their own on a port shared by `group`."""
    if len(group) < 2:
        return []
    return sorted({ln.hostname for ln in group if ln.hostname is not None})
