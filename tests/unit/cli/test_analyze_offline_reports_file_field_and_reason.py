"""`meshgate analyze -f`: the compiler over files, findings addressed by file and field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from meshgate import cli

ROOT = Path(__file__).resolve().parents[3]
BROKEN = Path(__file__).parent / "broken"


def analyze(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, object]]:
    code = cli.main(["analyze", *args, "-o", "json"])
    return code, json.loads(capsys.readouterr().out)


def test_examples_have_no_errors_and_exit_zero(capsys: pytest.CaptureFixture[str]) -> None:
    code, report = analyze(capsys, "-f", str(ROOT / "examples"))
    assert code == 0
    assert report["errors"] == 0
    findings = report["findings"]
    assert isinstance(findings, list)
    # What the files cannot settle (a Service that lives elsewhere) is a warning, never silent.
    assert any(f["reason"] == "BackendNotFound" and f["severity"] == "warning" for f in findings)


def test_broken_files_give_each_error_its_file_line_field_and_reason(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, report = analyze(capsys, "-f", str(BROKEN))
    assert code == 1
    got = {
        (Path(f["file"]).name, f["line"], f["field"], f["reason"])
        for f in report["findings"]  # type: ignore[attr-defined]
        if f["severity"] == "error"
    }
    assert got == {
        ("route-invalid.yaml", 12, "spec.rules[0].backendRefs[0].port", "Invalid"),
        ("route-invalid.yaml", 14, "spec.rules[0].timeouts.request", "Invalid"),
        ("route-wrong-listener.yaml", 8, "spec.parentRefs[0]", "NoMatchingParent"),
        (
            "destination-rule-subset.yaml",
            24,
            "spec.rules[0].backendRefs[0].subset",
            "InvalidSubset",
        ),
    }


def test_table_output_ends_with_the_counts(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["analyze", "-f", str(BROKEN)]) == 1
    out = capsys.readouterr().out
    assert out.splitlines()[0].split()[:4] == ["SEVERITY", "WHERE", "OBJECT", "FIELD"]
    assert out.rstrip().endswith("4 error(s), 0 warning(s)")


def test_a_missing_path_or_bad_yaml_exits_two_and_says_which(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["analyze", "-f", str(tmp_path / "nope")]) == 2
    assert "no such file or directory" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: Route\nspec: [unclosed\n")
    assert cli.main(["analyze", "-f", str(bad)]) == 2
    assert "bad.yaml" in capsys.readouterr().err


def test_files_without_a_namespace_go_into_the_one_given(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, report = analyze(capsys, "-f", str(BROKEN), "-n", "shop")
    assert code == 1
    assert {f["namespace"] for f in report["findings"]} == {"shop"}  # type: ignore[attr-defined]
