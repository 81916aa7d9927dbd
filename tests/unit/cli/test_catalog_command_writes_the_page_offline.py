"""`meshgate catalog -f`: the page a Gateway serves, written from files alone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from meshgate import cli

ROOT = Path(__file__).resolve().parents[3]


def test_catalog_writes_the_html_page_of_the_one_gateway(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "apis.html"
    code = cli.main(["catalog", "-f", str(ROOT / "examples" / "api-catalog"), "--out", str(out)])
    assert code == 0
    page = out.read_text()
    assert page.startswith("<!doctype html>")
    assert "Orders API" in page
    assert "wrote" in capsys.readouterr().err


def test_json_output_is_the_catalog_data(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["catalog", "-f", str(ROOT / "examples" / "api-catalog"), "-o", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert sorted(a["name"] for a in data["apis"]) == ["orders", "partner-stock", "products"]


def test_https_listeners_are_listed_without_their_certificates(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = cli.main(["catalog", "-f", str(ROOT / "examples" / "edge-api-versions"), "-o", "json"])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    urls = {u for a in data["apis"] for u in a["base_urls"]}
    assert "https://api.example.com:8443" in urls


def test_several_gateways_need_a_choice(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["catalog", "-f", str(ROOT / "examples")]) == 1
    assert "choose one Gateway" in capsys.readouterr().err
