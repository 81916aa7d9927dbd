"""The pod's labels, from the downward-API file kubelet writes, merged into `Node.labels`.

Workload-scoped policy (AuthorizationPolicy and PeerAuthentication selectors) is matched against
the labels of the pod the sidecar runs in. One namespace-wide config serves every pod, so the
proxy learns its own labels from the file given by `--pod-labels-file` or
`MESHGATE_POD_LABELS_FILE`, one `key="value"` line per label (values quoted the way Go's `%q`
quotes them). The file's labels win over `node.labels` in config: they are the pod's real ones.

This module must never guess: a line it cannot read makes the whole file unreadable, so a typo
cannot silently drop the label a DENY policy selects on.
"""

from __future__ import annotations

import re

from msgspec.structs import replace

from meshproxy import config

ENV = "MESHGATE_POD_LABELS_FILE"

_LINE = re.compile(r'(?P<key>[A-Za-z0-9][-A-Za-z0-9_./]*)="(?P<value>(?:[^"\\]|\\.)*)"')
_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t", "r": "\r"}


class LabelsFileError(ValueError):
    """The labels file is missing or not in kubelet's format."""


def parse_labels(text: str) -> dict[str, str]:
    labels: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        found = _LINE.fullmatch(line.strip())
        if found is None:
            raise LabelsFileError(f'line {number}: expected key="value"')
        labels[found["key"]] = _unquote(found["value"], number)
    return labels


def _unquote(value: str, number: int) -> str:
    if "\\" not in value:
        return value  # label values are [-A-Za-z0-9_.]: the common case
    out: list[str] = []
    chars = iter(value)
    for char in chars:
        if char != "\\":
            out.append(char)
            continue
        escaped = next(chars, "")
        if escaped not in _ESCAPES:
            raise LabelsFileError(f"line {number}: unsupported escape \\{escaped}")
        out.append(_ESCAPES[escaped])
    return "".join(out)


def read_labels(path: str) -> dict[str, str]:
    try:
        with open(path, encoding="utf-8") as handle:
            return parse_labels(handle.read())
    except OSError as exc:
        raise LabelsFileError(f"cannot read pod labels {path}: {exc.strerror}") from None


def with_labels(cfg: config.ProxyConfig, labels: dict[str, str]) -> config.ProxyConfig:
    if not labels:
        return cfg
    return replace(cfg, node=replace(cfg.node, labels={**cfg.node.labels, **labels}))
