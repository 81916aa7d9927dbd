"""AuthorizationPolicy through the running operator: `namespaces`, `notNamespaces`,
`notPrincipals`, `hosts`, `notHosts`, `ports`, `notPorts`, `notMethods`, `notPaths` and `when`,
each deciding at least one request between real sidecars.

The vault (namespace `vault`) serves an API on 8080 and an admin API on 9090 behind its sidecar;
`teller` and `auditor` call it from its namespace, `outsider` from namespace `branch`. The test
plays each caller's app: it sends HTTP proxy requests to that caller's sidecar (the outbound
port, as `HTTP_PROXY` points there), which reaches the vault over mTLS with the caller's own
identity. Every request's answer is checked against the row that says which field decides it;
a denial is the vault sidecar's 403 (counted in its `meshproxy_authz_denied_total`), an allowed
request is answered by the vault process of its port and carries the caller's verified identity.

Manifests: `authorization/namespaces.yaml`, then `authorization/vault/` in `vault` and
`authorization/branch/` in `branch`.
"""

from __future__ import annotations

import http.client
from collections.abc import Iterator

import pytest
from harness.session import NodeAgent
from helm_release import Release
from scenario_kit import HERE, Answer, User, metric_sum, metrics

OUTBOUND = 15001
SHORT, LONG = "vault.vault", "vault.vault.svc.cluster.local"
PEER = "x-meshgate-peer-identity"
CONVERGE_SECONDS = 30.0
AUDIT = {"x-audit": "yes"}

# (caller, method, host, port, path, headers, status, the field that decides)
ROWS = [
    ("teller", "GET", SHORT, 8080, "/accounts/1", {}, 200, "allow: namespaces, ports, hosts"),
    (
        "teller",
        "PUT",
        SHORT,
        8080,
        "/accounts/1",
        {},
        200,
        "allow: notMethods excludes DELETE only",
    ),
    ("teller", "DELETE", SHORT, 8080, "/accounts/1", {}, 403, "allow: notMethods"),
    ("teller", "GET", LONG, 8080, "/accounts/1", {}, 403, "allow: hosts"),
    ("outsider", "GET", SHORT, 8080, "/accounts/1", {}, 403, "allow: namespaces"),
    ("teller", "GET", SHORT, 8080, "/statements", {}, 403, "deny: notPaths"),
    ("teller", "GET", SHORT, 9090, "/accounts/1", AUDIT, 403, "allow: notPrincipals"),
    ("auditor", "GET", SHORT, 9090, "/accounts/1", AUDIT, 200, "allow: notPrincipals, when"),
    ("auditor", "GET", SHORT, 9090, "/accounts/1", {}, 403, "allow: when"),
    ("auditor", "GET", SHORT, 8080, "/accounts/1", {}, 403, "deny: notPorts"),
    ("outsider", "GET", SHORT, 9090, "/accounts/1", AUDIT, 200, "allow: any namespace on 9090"),
    ("outsider", "POST", SHORT, 9090, "/accounts/1", AUDIT, 403, "deny: notNamespaces"),
    ("auditor", "POST", SHORT, 9090, "/accounts/1", AUDIT, 200, "deny: notNamespaces spares vault"),
    ("auditor", "GET", LONG, 9090, "/accounts/1", AUDIT, 403, "deny: notHosts"),
]


@pytest.fixture
def vault(meshgate_release: Release, node_agent: NodeAgent) -> Iterator[dict[str, User]]:
    """Users of `vault` and `branch`, which the manifests create; both deleted afterwards."""
    users = {ns: User(meshgate_release, ns, node_agent.state_dir) for ns in ("vault", "branch")}
    try:
        yield users
    finally:
        meshgate_release.kubectl_run(
            "delete", "namespace", "vault", "branch", "--ignore-not-found", "--wait=true",
            timeout=120,
        )  # fmt: skip


def via_sidecar(
    caller_ip: str, method: str, host: str, port: int, path: str, headers: dict[str, str]
) -> Answer:
    """What the caller's app does: an HTTP proxy request to its own sidecar."""
    conn = http.client.HTTPConnection(caller_ip, OUTBOUND, timeout=10)
    try:
        conn.request(method, f"http://{host}:{port}{path}", headers=headers)
        resp = conn.getresponse()
        body = resp.read()
        return Answer(resp.status, {k.lower(): v for k, v in resp.getheaders()}, body)
    finally:
        conn.close()


def test_each_policy_field_decides_its_request_between_real_sidecars(
    vault: dict[str, User],
) -> None:
    home, branch = vault["vault"], vault["branch"]
    home.apply(HERE / "authorization" / "namespaces.yaml")
    home.apply(HERE / "authorization" / "vault")
    branch.apply(HERE / "authorization" / "branch")
    for policy in ("vault-allow", "vault-deny"):
        home.condition("authorizationpolicies", policy, "Accepted")
    vault_ip = home.ready_pods("app=vault", 1)[0]["status"]["podIP"]
    callers = {
        name: user.ready_pods(f"app={name}", 1)[0]["status"]["podIP"]
        for name, user in (("teller", home), ("auditor", home), ("outsider", branch))
    }

    # Sidecars, identities and policies converge: the first allowed and denied rows hold.
    for caller, method, host, port, path, headers, status, _ in (ROWS[0], ROWS[4]):
        home.answer_within(
            lambda c=caller, m=method, h=host, p=port, q=path, x=headers: via_sidecar(  # type: ignore[misc]
                callers[c], m, h, p, q, x
            ),
            status,
            CONVERGE_SECONDS,
            f"{caller} {method} {host}:{port}{path}",
        )
    denied_before = metric_sum(metrics(vault_ip), "meshproxy_authz_denied_total")

    got = []
    for caller, method, host, port, path, headers, _, why in ROWS:
        answer = via_sidecar(callers[caller], method, host, port, path, headers)
        got.append((caller, method, host, port, path, answer.status, why))
        if answer.status == 200:
            echoed = answer.json()
            # The process of that port answered, and saw who called, as the certificate says.
            assert echoed["version"] == ("api" if port == 8080 else "admin"), echoed
            caller_ns = "branch" if caller == "outsider" else "vault"
            assert echoed["headers"][PEER] == (
                f"spiffe://cluster.local/ns/{caller_ns}/sa/{caller}"
            ), echoed
    want = [(c, m, h, p, q, s, why) for c, m, h, p, q, _, s, why in ROWS]
    assert got == want

    # Every refusal came from the vault's authorization, not from routing or the app.
    denied = metric_sum(metrics(vault_ip), "meshproxy_authz_denied_total") - denied_before
    assert denied == sum(1 for row in ROWS if row[6] == 403)
