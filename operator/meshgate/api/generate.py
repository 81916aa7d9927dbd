"""Generate the CRDs and docs/api.md from the pydantic models, or check that the committed copies
match them (`--check`).

Pydantic's JSON schema is turned into a Kubernetes *structural* schema: every `$ref` inlined,
`anyOf [X, null]` collapsed to an optional X, `const` as a one-value enum, no titles and no
`additionalProperties: false` (the API server prunes unknown fields itself, and rejects them under
strict field validation). Output is deterministic: sorted keys, block-style text, one file per kind.
This module must stay pure: it never talks to a cluster.
"""

from __future__ import annotations

import argparse
import copy
import difflib
import inspect
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, NoDefault
from pydantic_core import core_schema

from .v1alpha1 import KINDS, KindInfo

Schema = dict[str, Any]

_DROP = {"title", "$defs", "propertyNames"}


def _description(text: str) -> str:
    """Dedent a docstring and join wrapped lines, keeping paragraphs and fenced code as written."""
    out: list[str] = []
    fenced = False
    for line in inspect.cleandoc(text).splitlines():
        if line.startswith("```"):
            fenced = not fenced
            out.append(line)
        elif (
            fenced
            or not line.strip()
            or not out
            or not out[-1].strip()
            or out[-1].startswith("```")
        ):
            out.append(line)
        else:
            out[-1] = f"{out[-1]} {line.strip()}"
    return "\n".join(out).strip()


def _merge(base: Schema, over: Schema) -> Schema:
    """`over` (the keys beside a `$ref`: the field's own) wins, except CEL rules, which add up."""
    merged = dict(base)
    for key, value in over.items():
        if key == "x-kubernetes-validations" and key in merged:
            merged[key] = [*merged[key], *value]
        else:
            merged[key] = value
    return merged


def structural(node: Any, defs: dict[str, Schema]) -> Any:
    """Turn one pydantic JSON schema node into a structural CRD schema node."""
    if isinstance(node, list):
        return [structural(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    node = dict(node)
    if "$ref" in node:
        target = defs[node.pop("$ref").rsplit("/", 1)[-1]]
        return structural(_merge(copy.deepcopy(target), node), defs)
    if "allOf" in node and len(node["allOf"]) == 1:
        return structural(_merge(node.pop("allOf")[0], node), defs)
    if "anyOf" in node:
        options = [o for o in node["anyOf"] if o != {"type": "null"}]
        if len(options) == 1:
            del node["anyOf"]
            return structural(_merge(options[0], node), defs)
        node["anyOf"] = [structural(o, defs) for o in options]
    if "const" in node:
        node["enum"] = [node.pop("const")]
    if node.get("default", 0) is None:
        del node["default"]
    if isinstance(node.get("additionalProperties"), bool):
        del node["additionalProperties"]
    for bound, inclusive in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if isinstance(node.get(bound), int | float) and not isinstance(node.get(bound), bool):
            node[inclusive] = node[bound]
            node[bound] = True
    out: Schema = {}
    for key, value in node.items():
        if key in _DROP:
            continue
        if key == "description":
            out[key] = _description(value)
        elif key == "properties":
            out[key] = {name: structural(sub, defs) for name, sub in value.items()}
        elif key in ("items", "additionalProperties", "anyOf"):
            out[key] = structural(value, defs)
        else:
            out[key] = value
    if "required" in out:
        out["required"] = sorted(out["required"])
    return out


class _CRDJsonSchema(GenerateJsonSchema):
    """Pydantic's generator, plus defaults for nested objects built by a default factory, so
    the API server fills their own defaults in (it defaults a field only when its parent exists)."""

    def get_default_value(self, schema: core_schema.WithDefaultSchema) -> Any:
        factory = schema.get("default_factory")
        if factory is not None and not schema.get("default_factory_takes_data"):
            value = factory()  # type: ignore[call-arg]
            if isinstance(value, BaseModel):
                return value.model_dump(by_alias=True, exclude_none=True, mode="json")
            return NoDefault
        return super().get_default_value(schema)


def model_schema(model: type[BaseModel]) -> Schema:
    """The structural schema of one model."""
    raw = model.model_json_schema(by_alias=True, mode="validation", schema_generator=_CRDJsonSchema)
    defs = raw.pop("$defs", {})
    result: Schema = structural(raw, defs)
    return result


def crd(info: KindInfo) -> Schema:
    """The CustomResourceDefinition of one kind."""
    doc = info.model.__doc__ or info.kind
    root: Schema = {
        "type": "object",
        "description": _description(doc),
        "properties": {
            "apiVersion": {
                "type": "string",
                "description": f"`{info.api_version}`.",
            },
            "kind": {"type": "string", "description": f"`{info.kind}`."},
            "metadata": {"type": "object"},
            "spec": model_schema(info.spec),
            "status": model_schema(info.status),
        },
        "required": ["spec"],
    }
    columns = [
        {
            "name": c.name,
            "type": c.type,
            "jsonPath": c.json_path,
            "description": c.description,
            **({"priority": c.priority} if c.priority else {}),
        }
        for c in info.columns
    ]
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": info.crd_name,
            "labels": {"app.kubernetes.io/part-of": "meshgate"},
        },
        "spec": {
            "group": info.group,
            "scope": "Namespaced",
            "names": {
                "kind": info.kind,
                "listKind": f"{info.kind}List",
                "plural": info.plural,
                "singular": info.singular,
                "shortNames": list(info.short_names),
                "categories": list(info.categories),
            },
            "versions": [
                {
                    "name": info.version,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": columns,
                    "schema": {"openAPIV3Schema": root},
                }
            ],
        },
    }


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def to_yaml(obj: Any) -> str:
    """Deterministic YAML: sorted keys, no wrapping, multi-line text as literal blocks."""
    return yaml.dump(obj, Dumper=_Dumper, sort_keys=True, width=4096, allow_unicode=True)


HEADER = "# Generated by `make crds` from operator/meshgate/api; do not edit.\n"


def crd_files() -> dict[str, str]:
    """File name → content of every CRD."""
    return {f"{info.group}_{info.plural}.yaml": HEADER + to_yaml(crd(info)) for info in KINDS}


# --- docs ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldRow:
    path: str
    type: str
    default: str
    validation: str
    description: str


def _type(node: Schema) -> str:
    if node.get("x-kubernetes-int-or-string"):
        return "int or string"
    kind = str(node.get("type", "any"))
    if kind == "array":
        return f"[]{_type(node.get('items', {}))}"
    if kind == "object" and isinstance(node.get("additionalProperties"), dict):
        return f"map[string]{_type(node['additionalProperties'])}"
    if node.get("format") == "date-time":
        return "timestamp"
    return kind


def _validation(node: Schema, required: bool) -> str:
    parts = ["required"] if required else []
    if "enum" in node:
        parts.append("one of " + ", ".join(f"`{v}`" for v in node["enum"]))
    for key, label in (
        ("minimum", "≥"),
        ("maximum", "≤"),
        ("minLength", "min length"),
        ("maxLength", "max length"),
        ("minItems", "min items"),
        ("maxItems", "max items"),
        ("maxProperties", "max entries"),
    ):
        if key in node:
            parts.append(f"{label} {node[key]}")
    if "pattern" in node:
        parts.append(f"pattern `{node['pattern']}`")
    if node.get("x-kubernetes-list-type") == "map":
        parts.append("unique by " + ", ".join(node["x-kubernetes-list-map-keys"]))
    elif node.get("x-kubernetes-list-type") == "set":
        parts.append("unique items")
    for rule in node.get("x-kubernetes-validations", []):
        parts.append(f"“{rule['message']}”")
    return "; ".join(parts)


def _cell(text: str) -> str:
    text = re.sub(r"```.*?```", "", text, flags=re.DOTALL)
    text = " ".join(line.strip() for line in text.splitlines() if line.strip())
    return text.replace("|", "\\|")


def _rows(node: Schema, path: str, required: bool = False) -> Iterator[FieldRow]:
    for name, sub in sorted(node.get("properties", {}).items()):
        yield from _field(sub, f"{path}.{name}", name in node.get("required", []))
    if node.get("type") == "array":
        items = node.get("items", {})
        if "x-kubernetes-validations" in items:
            # Rules on each element (cross-field checks) get a row of their own.
            yield FieldRow(f"{path}[]", _type(items), "", _cell(_validation(items, False)), "")
        yield from _rows(items, f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        yield from _rows(node["additionalProperties"], f"{path}.*")


def _flow(value: Any) -> str:
    return (
        yaml.safe_dump(value, default_flow_style=True, width=4096)
        .strip()
        .removesuffix("...")
        .strip()
    )


def _field(node: Schema, path: str, required: bool) -> Iterator[FieldRow]:
    default = f"`{_flow(node['default'])}`" if "default" in node else ""
    yield FieldRow(
        path=path,
        type=_type(node),
        default=default,
        validation=_cell(_validation(node, required)),
        description=_cell(node.get("description", "")),
    )
    yield from _rows(node, path)


def _table(rows: Sequence[FieldRow]) -> list[str]:
    lines = ["| field | type | default | validation | description |", "|---|---|---|---|---|"]
    lines += [
        f"| `{r.path}` | {r.type} | {r.default} | {r.validation} | {r.description} |" for r in rows
    ]
    return lines


def docs() -> str:
    """docs/api.md: a reference per kind."""
    out = [
        "<!-- Generated by `make crds` from operator/meshgate/api; do not edit. -->",
        "# meshgate API reference (`meshgate.io/v1alpha1`)",
        "",
        "Every kind is namespaced, has a `status` subresource written by the operator "
        "(`observedGeneration` and `conditions` in the Kubernetes `metav1.Condition` shape), and "
        "belongs to the category `meshgate`, so `kubectl get meshgate -A` lists them all. "
        "Unknown fields are rejected under strict field validation (the default of "
        "`kubectl apply`).",
        "",
        "| kind | short names | plural | what it is |",
        "|---|---|---|---|",
    ]
    for info in KINDS:
        summary = _cell(_description(info.model.__doc__ or "").split("\n\n")[0])
        out.append(
            f"| [{info.kind}](#{info.kind.lower()}) | {', '.join(info.short_names)} "
            f"| {info.plural} | {summary} |"
        )
    for info in KINDS:
        schema = crd(info)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
        example = getattr(info.model, "example", "")
        out += [
            "",
            f"## {info.kind}",
            "",
            _description(info.model.__doc__ or ""),
            "",
            f"`kubectl get {info.plural}.{info.group}` (short: `{'`, `'.join(info.short_names)}`) "
            "prints: " + ", ".join(f"**{c.name}** ({_cell(c.description)})" for c in info.columns),
            "",
            "```yaml",
            example.rstrip(),
            "```",
            "",
            f"### {info.kind} spec",
            "",
            *_table(list(_rows(schema["properties"]["spec"], "spec"))),
            "",
            f"### {info.kind} status",
            "",
            _description(schema["properties"]["status"].get("description", "")),
            "",
            *_table(list(_rows(schema["properties"]["status"], "status"))),
        ]
    return "\n".join(out) + "\n"


# --- CLI -------------------------------------------------------------------------------------


def _expected(crds: Path, chart_crds: Path | None, docs_path: Path | None) -> dict[Path, str]:
    files = crd_files()
    expected = {crds / name: text for name, text in files.items()}
    if chart_crds is not None:
        expected |= {chart_crds / name: text for name, text in files.items()}
    if docs_path is not None:
        expected[docs_path] = docs()
    return expected


def _stale(expected: dict[Path, str], dirs: Sequence[Path]) -> list[tuple[Path, str]]:
    """(path, diff) for every file that differs, is missing, or is a leftover in a CRD dir."""
    problems: list[tuple[Path, str]] = []
    for path, text in sorted(expected.items()):
        current = path.read_text() if path.exists() else ""
        if current != text:
            diff = "".join(
                difflib.unified_diff(
                    current.splitlines(keepends=True),
                    text.splitlines(keepends=True),
                    f"{path} (committed)",
                    f"{path} (from the models)",
                    n=1,
                )
            )
            problems.append((path, diff))
    for directory in dirs:
        for path in sorted(directory.glob("*.yaml")) if directory.is_dir() else []:
            if path not in expected:
                problems.append((path, f"{path}: not generated by any model; delete it\n"))
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m meshgate.api.generate", description=__doc__)
    parser.add_argument("--crds", type=Path, required=True, help="directory for the CRD YAML")
    parser.add_argument("--chart-crds", type=Path, help="the Helm chart's copy of the CRDs")
    parser.add_argument("--docs", type=Path, help="the API reference, Markdown")
    parser.add_argument("--check", action="store_true", help="write nothing; fail on any drift")
    args = parser.parse_args(argv)

    dirs = [d for d in (args.crds, args.chart_crds) if d is not None]
    expected = _expected(args.crds, args.chart_crds, args.docs)
    problems = _stale(expected, dirs)
    if args.check:
        if not problems:
            return 0
        for _, diff in problems:
            sys.stderr.write(diff[:4000] + ("\n...\n" if len(diff) > 4000 else ""))
        names = ", ".join(str(path) for path, _ in problems)
        sys.stderr.write(
            f"\nGenerated API files are stale: {names}\n"
            "The models in operator/meshgate/api changed; run `make crds` and commit the result.\n"
        )
        return 1
    for path, _ in problems:
        if path in expected:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(expected[path])
        else:
            path.unlink()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
