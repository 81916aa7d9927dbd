"""The docs check: every line of docs/ that says "not served", "not yet" or "Unsupported" is
about a value docs/operator.md lists as refused at admission (its "Refused at admission"
section), or sits in that section (which also states the Gateway API exception), or in
docs/gateway-api.md (the Gateway API's own status reasons, which that section points to). So a
doc cannot quietly call an accepted field unserved: it would have to be refused, and listed."""

from __future__ import annotations

import re
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs"
CLAIM = re.compile(r"not served|not yet|unsupported", re.IGNORECASE)
SECTION = "## Refused at admission"


def _section(text: str) -> str:
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    return text[start : end if end != -1 else len(text)]


def _refused_fields(section: str) -> set[str]:
    """The field each row of the section's table refuses: the last name of every `code` in its
    value column (`connectionPool.http.http2MaxRequests` -> http2MaxRequests), and X of
    "without X"."""
    names: set[str] = set()
    for row in section.splitlines():
        cells = row.split("|")
        if not row.startswith("| ") or len(cells) < 4 or set(cells[2].strip()) <= {"-"}:
            continue
        value = cells[2]
        for code in re.findall(r"`([^`]+)`", value):
            names.add([p for p in re.split(r"[.\[\]]+", code.split(":")[0].strip()) if p][-1])
        names.update(re.findall(r"without ([a-z][A-Za-z0-9]{2,})", value))
    return names


def test_the_section_lists_the_refused_values() -> None:
    fields = _refused_fields(_section((DOCS / "operator.md").read_text()))
    assert {"maxRetries", "minHealthPercent", "clockSkew"} <= fields
    assert {"backendRefs", "insecureSkipVerify", "minimumRingSize", "stripKey"} <= fields


def test_every_not_served_line_is_about_a_value_refused_at_admission() -> None:
    operator = (DOCS / "operator.md").read_text()
    section = _section(operator)
    fields = _refused_fields(section)
    stray = []
    for doc in sorted(DOCS.rglob("*.md")):
        if doc.name == "gateway-api.md":
            continue
        for number, line in enumerate(doc.read_text().splitlines(), 1):
            if not CLAIM.search(line):
                continue
            if doc.name == "operator.md" and line in section:
                continue
            if not any(re.search(rf"\b{re.escape(f)}\b", line) for f in fields):
                stray.append(f"{doc.name}:{number}: {line.strip()[:120]}")
    assert stray == [], "\n".join(stray)
