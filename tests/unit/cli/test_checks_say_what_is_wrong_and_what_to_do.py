"""`meshgate check` verdicts: each failure says what is wrong and what to do."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from meshgate.cli import checks

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def secret(component: str, name: str, not_after: datetime) -> dict[str, object]:
    return {
        "metadata": {
            "namespace": "meshgate-system",
            "name": name,
            "labels": {"meshgate.io/component": component},
            "annotations": {"meshgate.io/not-after": not_after.isoformat().replace("+00:00", "Z")},
        }
    }


def test_kubernetes_older_than_native_sidecars_is_a_warning() -> None:
    assert (
        checks.kube_version({"major": "1", "minor": "34", "gitVersion": "v1.34.4"}).verdict == "ok"
    )
    old = checks.kube_version({"major": "1", "minor": "28", "gitVersion": "v1.28.9"})
    assert old.verdict == "warning"
    assert "1.29" in old.fix


def test_a_certificate_near_expiry_warns_and_an_expired_one_fails() -> None:
    near = checks.certificates([secret("ca", "meshgate-ca", NOW + timedelta(hours=30))], NOW)
    assert [(c.name, c.verdict) for c in near] == [("mesh CA", "warning")]
    assert "expires in 30h00m" in near[0].message
    gone = checks.certificates(
        [secret("identity", "meshgate-identity-web", NOW - timedelta(1))], NOW
    )
    assert [(c.name, c.verdict) for c in gone] == [("workload certificates", "error")]
    assert gone[0].fix


def test_the_soonest_workload_certificate_is_the_one_reported() -> None:
    found = checks.certificates(
        [
            secret("identity", "meshgate-identity-a", NOW + timedelta(days=30)),
            secret("identity", "meshgate-identity-b", NOW + timedelta(days=20)),
        ],
        NOW,
    )
    assert found[0].verdict == "ok"
    assert "2 certificate(s)" in found[0].message
    assert "meshgate-identity-b" in found[0].message


def test_a_missing_webhook_is_an_error_that_says_to_restart_the_operator() -> None:
    check = checks.webhook(None, "meshgate-sidecar-injector", NOW)
    assert check.verdict == "error"
    assert "not found" in check.message
    assert "restart" in check.fix


def test_a_dry_run_pod_without_the_sidecar_means_the_webhook_did_not_answer() -> None:
    bare = {"spec": {"containers": [{"name": "app"}]}}
    injected = {
        "spec": {"initContainers": [{"name": "meshgate-proxy"}], "containers": [{"name": "app"}]}
    }
    assert checks.dry_run_injected(bare, "shop").verdict == "error"
    assert checks.dry_run_injected(injected, "shop").verdict == "ok"
    assert checks.dry_run_injected(None, "").verdict == "skipped"


def test_crds_missing_or_of_another_version_are_errors() -> None:
    expected = {
        "routes.meshgate.io": {"spec": {"versions": [{"name": "v1alpha1", "schema": {"a": 1}}]}}
    }
    established = {"conditions": [{"type": "Established", "status": "True"}]}
    same = {**expected["routes.meshgate.io"], "status": established}
    other = {
        "spec": {"versions": [{"name": "v1alpha1", "schema": {"a": 2}}]},
        "status": established,
    }
    assert checks.crds({"routes.meshgate.io": same}, expected)[0].verdict == "ok"
    assert "differs" in checks.crds({"routes.meshgate.io": other}, expected)[0].message
    assert checks.crds({"routes.meshgate.io": None}, expected)[0].message == "not installed"


def test_a_workload_certificate_warns_only_with_a_sixth_of_its_life_left() -> None:
    def identity(left: timedelta) -> dict[str, object]:
        body = secret("identity", "meshgate-identity-web", NOW + left)
        meta = body["metadata"]
        assert isinstance(meta, dict)
        start = NOW + left - timedelta(hours=24)
        meta["annotations"]["meshgate.io/not-before"] = start.isoformat().replace("+00:00", "Z")
        return body

    assert checks.certificates([identity(timedelta(hours=10))], NOW)[0].verdict == "ok"
    late = checks.certificates([identity(timedelta(hours=3))], NOW)[0]
    assert late.verdict == "warning"
    assert "expires in 3h00m" in late.message
