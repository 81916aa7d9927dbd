"""Read Kubernetes manifests from files and directories, remembering where each document starts.

`analyze -f` and `catalog -f` work on the files a GitOps repository holds; a finding points back
to the file and line. Objects without `metadata.namespace` get the namespace they would be applied
into (`kubectl apply -n`). Reading files is the only I/O here; nothing talks to a cluster.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

SUFFIXES = (".yaml", ".yml", ".json")


@dataclass(frozen=True)
class Document:
    """One object from a file: its body, the file and the 1-based line its document starts on."""

    path: str
    line: int
    body: dict[str, Any]
    node: yaml.Node | None = field(default=None, compare=False, repr=False)

    @property
    def kind(self) -> str:
        return str(self.body.get("kind") or "")

    @property
    def namespace(self) -> str:
        return str((self.body.get("metadata") or {}).get("namespace") or "")

    @property
    def name(self) -> str:
        return str((self.body.get("metadata") or {}).get("name") or "")


class ManifestError(Exception):
    """A file cannot be read or parsed; the message names the file and line."""


def files_under(sources: Sequence[str]) -> list[Path]:
    """Every manifest file `sources` name; a directory is read recursively, in sorted order."""
    out: list[Path] = []
    for src in sources:
        path = Path(src)
        if path.is_dir():
            out += sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in SUFFIXES)
        elif path.is_file():
            out.append(path)
        else:
            raise ManifestError(f"{src}: no such file or directory")
    return out


def documents(text: str, path: str) -> list[Document]:
    """The non-empty documents of one file; a `List` is unpacked into its items."""
    loader = yaml.SafeLoader(text)
    out: list[Document] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            body = loader.construct_document(node)
            if body is None:
                continue
            line = node.start_mark.line + 1
            if not isinstance(body, dict):
                raise ManifestError(f"{path}:{line}: a document must be a mapping (an object)")
            if body.get("kind") == "List":
                out += [Document(path, line, item) for item in body.get("items") or []]
            else:
                out.append(Document(path, line, body, node))
    except yaml.YAMLError as exc:
        raise ManifestError(f"{path}: {exc}") from None
    finally:
        loader.dispose()
    return out


def read(sources: Sequence[str], namespace: str) -> list[Document]:
    """Every document in `sources`, namespaced objects defaulted to `namespace`."""
    out: list[Document] = []
    for path in files_under(sources):
        try:
            text = path.read_text()
        except OSError as exc:
            raise ManifestError(f"{path}: {exc.strerror}") from None
        for doc in documents(text, str(path)):
            out.append(_with_namespace(doc, namespace))
    return out


CLUSTER_SCOPED = frozenset(
    {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition"}
)


def _with_namespace(doc: Document, namespace: str) -> Document:
    if doc.kind in CLUSTER_SCOPED or doc.namespace:
        return doc
    meta = dict(doc.body.get("metadata") or {})
    meta["namespace"] = namespace
    return Document(doc.path, doc.line, {**doc.body, "metadata": meta}, doc.node)


def field_line(doc: Document, path: Iterable[str | int]) -> int:
    """The line of the deepest node of `path` (`("spec", "rules", 1)`) found in the document."""
    node = doc.node
    line = doc.line
    for part in path:
        child = _child(node, part)
        if child is None:
            break
        node = child
        line = child.start_mark.line + 1
    return line


def _child(node: yaml.Node | None, part: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                return value  # type: ignore[no-any-return]
    if (
        isinstance(node, yaml.SequenceNode)
        and isinstance(part, int)
        and 0 <= part < len(node.value)
    ):
        return node.value[part]  # type: ignore[no-any-return]
    return None
