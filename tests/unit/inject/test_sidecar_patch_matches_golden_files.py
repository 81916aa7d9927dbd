"""Every golden pod shape: the patch, the decision and the warnings are exactly the golden file."""

from __future__ import annotations

import pytest

from meshgate.inject import jsonpatch_ops
from meshgate.inject.patch import inject

from .cases import case
from .golden import case_names, check


@pytest.mark.parametrize("name", case_names())
def test_patch_for_pod_shape_matches_golden_file(name: str) -> None:
    c = case(name)
    pod = c.pod
    if c.inject_twice:
        pod = jsonpatch_ops.apply(pod, inject(pod, c.namespace, c.settings).ops)
    result = inject(pod, c.namespace, c.settings)
    check(
        name,
        {
            "inject": result.decision.inject,
            "reason": result.decision.reason,
            "warnings": list(result.warnings),
            "patch": result.ops,
        },
    )


def test_there_are_at_least_twelve_pod_shapes() -> None:
    assert len(case_names()) >= 12
