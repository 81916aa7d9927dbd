"""Authorization: does this workload's policy let this peer make this request?

Semantics are Istio's AuthorizationPolicy, so its YAML ports over:
- Policies whose `selector` does not match this node's labels are dropped at compile.
- Any matching DENY policy denies. Otherwise, with no ALLOW policy the request is allowed; with
  ALLOW policies it is allowed only when one of them matches.
- A policy matches when any of its rules matches; a policy without rules matches nothing (so an
  ALLOW policy without rules is "allow nothing"), while a rule with no conditions matches
  everything. A rule matches when one of its `from` sources, one of its `to` operations and all
  of its `when` conditions hold; within a source or operation every field that is set must
  hold, a field holds when the value matches one of its entries, and `notX` holds when the value
  matches none.
- Values match exactly, by `prefix*`, by `*suffix`, or `*` (any value that is present).
- A request with no principal (plaintext) has no principal and no namespace: `principals` and
  `namespaces` never match it, not even `*`, while `notPrincipals`/`notNamespaces` always do.
  So `notPrincipals: ["*"]` in a DENY policy refuses plaintext, as in Istio.
- Principals compare without the `spiffe://` scheme, whichever side carries it.
- Paths match the normalised path (see `paths.py`), never the raw target, read every way a
  common backend could read it (see `path_readings.py`): whatever would deny a request takes
  the widest reading, whatever would let it pass the narrowest. So in a DENY policy `paths`
  holds when any reading matches, case-insensitively, and `notPaths` when any reading misses
  exactly; in an ALLOW policy `paths` holds only when every reading matches exactly, and
  `notPaths` only when no reading matches, case-insensitively. `/ADMIN`, `/admin;x`,
  `/x/..%2Fadmin` and `/admin%20` are all `/admin` to a DENY on `/admin`, and none of them is
  inside an ALLOW on `/public/*` unless every reading is. Hosts compare lower-case; methods
  exactly.
- `when` keys: `request.headers[<name>]`, `source.principal`, `source.namespace`,
  `destination.port`; any other key fails the config at load rather than being guessed at.

This module must never do I/O or log; denial details are the runtime's to log.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from meshproxy import config
from meshproxy.policy.path_readings import path_readings

__all__ = ["Authorizer"]

_SPIFFE = "spiffe://"


class _Values:
    """Exact values, prefixes, suffixes and `*`, compiled once."""

    __slots__ = ("_any", "_exact", "_prefixes", "_suffixes")

    def __init__(self, values: Sequence[str], fold: Callable[[str], str]) -> None:
        self._any = "*" in values
        self._exact = frozenset(fold(v) for v in values if "*" not in v)
        self._prefixes = tuple(fold(v[:-1]) for v in values if v.endswith("*") and v != "*")
        self._suffixes = tuple(
            fold(v[1:]) for v in values if v.startswith("*") and v != "*" and not v.endswith("*")
        )

    def match(self, value: str | None) -> bool:
        if value is None:
            return False
        if self._any or value in self._exact:
            return True
        return any(value.startswith(p) for p in self._prefixes) or any(
            value.endswith(s) for s in self._suffixes
        )


class _Request:
    __slots__ = (
        "_folded",
        "headers",
        "host",
        "method",
        "namespace",
        "paths",
        "port",
        "principal",
    )

    def __init__(
        self,
        principal: str | None,
        namespace: str | None,
        method: str,
        path: str,
        port: int,
        host: str,
        headers: Mapping[str, str],
    ) -> None:
        self.principal = principal
        self.namespace = namespace
        self.method = method
        self.port = port
        self.host = host
        self.headers = headers
        self.paths = path_readings(path)
        self._folded: tuple[str, ...] | None = None

    def folded_paths(self) -> tuple[str, ...]:
        """The readings lower-cased, as a case-insensitive backend compares them; once."""
        if self._folded is None:
            self._folded = tuple(p.lower() for p in self.paths)
        return self._folded


_Check = Callable[[_Request], bool]


class Authorizer:
    __slots__ = ("_allow", "_deny", "_has_allow")

    def __init__(
        self, deny: tuple[tuple[_Check, ...], ...], allow: tuple[tuple[_Check, ...], ...]
    ) -> None:
        self._deny = deny  # per policy, its rules; each rule one check
        self._allow = allow
        self._has_allow = bool(allow)

    @classmethod
    def compile(
        cls, policies: Sequence[config.AuthzPolicy], node_labels: Mapping[str, str]
    ) -> Authorizer:
        deny: list[tuple[_Check, ...]] = []
        allow: list[tuple[_Check, ...]] = []
        for policy in policies:
            if policy.selector is not None and any(
                node_labels.get(k) != v for k, v in policy.selector.items()
            ):
                continue
            deny_side = policy.action == "DENY"
            rules = tuple(_rule(rule, policy.name, deny_side) for rule in policy.rules)
            (deny if deny_side else allow).append(rules)
        return cls(tuple(deny), tuple(allow))

    def allows(
        self,
        principal: str | None,
        namespace: str | None,
        method: str,
        path: str,
        port: int,
        host: str,
        headers: Mapping[str, str],
    ) -> bool:
        """`headers` is keyed by lower-case names; `path` is the normalised path."""
        if not self._deny and not self._has_allow:
            return True
        if principal is not None and principal.startswith(_SPIFFE):
            principal = principal[len(_SPIFFE) :]
        request = _Request(principal, namespace, method, path, port, host.lower(), headers)
        for rules in self._deny:
            if any(rule(request) for rule in rules):
                return False
        if not self._has_allow:
            return True
        return any(any(rule(request) for rule in rules) for rules in self._allow)


def _rule(rule: config.AuthzRule, policy: str, deny: bool) -> _Check:
    sources = tuple(_source(s) for s in rule.from_)
    operations = tuple(_operation(o, deny) for o in rule.to)
    conditions = tuple(_condition(c, policy) for c in rule.when)

    def check(request: _Request) -> bool:
        return (
            (not sources or any(all(f(request) for f in s) for s in sources))
            and (not operations or any(all(f(request) for f in o) for o in operations))
            and all(f(request) for f in conditions)
        )

    return check


def _principal(value: str) -> str:
    return value[len(_SPIFFE) :] if value.startswith(_SPIFFE) else value


def _same(value: str) -> str:
    return value


def _either_way(
    checks: list[_Check],
    wanted: Sequence[str],
    unwanted: Sequence[str],
    fold: Callable[[str], str],
    read: Callable[[_Request], str | None],
) -> None:
    """Add a check for a field's positive list and one for its `not` list, when they are set."""
    if wanted:
        values = _Values(wanted, fold)
        checks.append(lambda r: values.match(read(r)))
    if unwanted:
        not_values = _Values(unwanted, fold)
        checks.append(lambda r: not not_values.match(read(r)))


def _paths(
    checks: list[_Check], wanted: Sequence[str], unwanted: Sequence[str], deny: bool
) -> None:
    """Path checks over the readings: widest toward a denial, narrowest toward a pass."""
    if deny:
        if wanted:
            folded = _Values(wanted, str.lower)
            checks.append(lambda r: any(folded.match(p) for p in r.folded_paths()))
        if unwanted:
            exact = _Values(unwanted, _same)
            checks.append(lambda r: any(not exact.match(p) for p in r.paths))
        return
    if wanted:
        exact = _Values(wanted, _same)
        checks.append(lambda r: all(exact.match(p) for p in r.paths))
    if unwanted:
        folded = _Values(unwanted, str.lower)
        checks.append(lambda r: not any(folded.match(p) for p in r.folded_paths()))


def _source(source: config.AuthzSource) -> tuple[_Check, ...]:
    checks: list[_Check] = []
    _either_way(checks, source.principals, source.not_principals, _principal, lambda r: r.principal)
    _either_way(checks, source.namespaces, source.not_namespaces, _same, lambda r: r.namespace)
    return tuple(checks)


def _operation(operation: config.AuthzOperation, deny: bool) -> tuple[_Check, ...]:
    checks: list[_Check] = []
    _either_way(checks, operation.methods, operation.not_methods, _same, lambda r: r.method)
    _paths(checks, operation.paths, operation.not_paths, deny)
    if operation.ports:
        ports = frozenset(operation.ports)
        checks.append(lambda r: r.port in ports)
    if operation.not_ports:
        not_ports = frozenset(operation.not_ports)
        checks.append(lambda r: r.port not in not_ports)
    _either_way(checks, operation.hosts, operation.not_hosts, str.lower, lambda r: r.host)
    return tuple(checks)


def _condition(condition: config.AuthzCondition, policy: str) -> _Check:
    key = condition.key
    read: Callable[[_Request], str | None]
    fold: Callable[[str], str] = _same
    if key.startswith("request.headers[") and key.endswith("]") and len(key) > 17:
        name = key[len("request.headers[") : -1].lower()
        read = lambda r: r.headers.get(name)  # noqa: E731 - one expression, read per key
    elif key == "source.principal":
        read, fold = (lambda r: r.principal), _principal
    elif key == "source.namespace":
        read = lambda r: r.namespace  # noqa: E731
    elif key == "destination.port":
        read = lambda r: str(r.port)  # noqa: E731
    else:
        raise ValueError(f"authz policy {policy!r}: unsupported condition key {key!r}")
    values = _Values(condition.values, fold) if condition.values else None
    not_values = _Values(condition.not_values, fold) if condition.not_values else None

    def check(request: _Request) -> bool:
        value = read(request)
        if values is not None and not values.match(value):
            return False
        return not_values is None or not not_values.match(value)

    return check
