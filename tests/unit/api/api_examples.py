"""Helpers shared by the API unit tests: repository paths and the example documents."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = REPO / "examples"


def example_documents() -> list[tuple[str, dict[str, Any]]]:
    """(file:index, document) for every meshgate.io document under examples/."""
    docs = []
    for path in sorted(EXAMPLES.rglob("*.yaml")):
        for index, doc in enumerate(yaml.safe_load_all(path.read_text())):
            if doc and str(doc.get("apiVersion", "")).startswith("meshgate.io/"):
                docs.append((f"{path.relative_to(EXAMPLES)}:{index}", doc))
    return docs
