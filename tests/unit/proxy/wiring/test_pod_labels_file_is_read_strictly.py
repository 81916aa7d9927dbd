"""The downward-API labels file: kubelet's `key="value"` lines, merged over `node.labels`, and
refused whole when a line cannot be read (a dropped label could switch a DENY policy off)."""

from __future__ import annotations

from pathlib import Path

import pytest

from meshproxy import config, podlabels


def test_kubelet_lines_become_labels() -> None:
    text = 'app="backend"\napp.kubernetes.io/name="shop"\npod-template-hash="7d4b9c"\n'
    assert podlabels.parse_labels(text) == {
        "app": "backend",
        "app.kubernetes.io/name": "shop",
        "pod-template-hash": "7d4b9c",
    }


def test_quoted_escapes_are_unquoted() -> None:
    assert podlabels.parse_labels('note="a \\"b\\" \\\\ c"') == {"note": 'a "b" \\ c'}


@pytest.mark.parametrize(
    "text",
    ["app=backend", 'app="backend', '="x"', 'app="a\\qb"', 'app = "backend"'],
)
def test_a_line_that_is_not_kubelets_format_refuses_the_file(text: str) -> None:
    with pytest.raises(podlabels.LabelsFileError):
        podlabels.parse_labels(text)


def test_a_missing_file_is_an_error_not_empty_labels(tmp_path: Path) -> None:
    with pytest.raises(podlabels.LabelsFileError, match="cannot read"):
        podlabels.read_labels(str(tmp_path / "absent"))


def test_file_labels_win_over_config_labels() -> None:
    cfg = config.ProxyConfig.from_data(
        {"node": {"role": "sidecar", "labels": {"app": "old", "tier": "web"}}}
    )
    merged = podlabels.with_labels(cfg, {"app": "backend"})
    assert merged.node.labels == {"app": "backend", "tier": "web"}
