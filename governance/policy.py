"""Policies as code: what every dbt model must declare, checked on dbt's manifest.

Rules (each violation names the model, and the column when there is one):
- every model has a description and `config.meta` with `owner`, `domain`, `tier` (the data tier:
  silver for staging, gold for marts and reports) and `access` (`restricted` or `broad`);
- a column that looks personal (a name, address, phone number or e-mail by its name) carries
  `meta.contains_pii: true`, or, once masked or hashed, `meta.masking: <how>`;
- a model with `access: broad` holds no personal column in clear (`contains_pii: true`);
- an exposure has an `access` class and lists what it `publishes` (`model.column`); a broad one
  publishes no personal column in clear; a broad one that is `explorable` (a BI tool's dashboard,
  whose users can explore every column of its datasets) depends on broad models only;
- a column's `meta.glossary_term` names a term of the business glossary (governance/glossary.yml).

What "looks personal" is one rule, `ingest.core.personal` (the scaffold tags by it): a word of the
column's name says it holds someone's name, address, phone number, e-mail or birth date. By policy
TPC-H's customer and supplier names (`Customer#000000001`) are personal: in real data they are
people or sole traders, and the same columns hold real names once the pipeline carries real data.
A bare `name` and names of things (nations, regions, parts, months, days) are not.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ingest.core.errors import DataError
from ingest.core.personal import looks_personal

GLOSSARY = Path(__file__).parent / "glossary.yml"
REQUIRED_META = ("owner", "domain", "tier", "access")
# What `lakehouse-ingest scaffold` writes where only a person can say: the check refuses it.
PLACEHOLDER = "TODO:"
ACCESS_LEVELS = ("restricted", "broad")


class PolicyError(DataError):
    """One or more models break the governance policy; the message lists every violation."""


@dataclass(frozen=True)
class Violation:
    model: str
    message: str
    column: str | None = None

    def __str__(self) -> str:
        where = f"{self.model}.{self.column}" if self.column else self.model
        return f"{where}: {self.message}"


def glossary_terms(path: Path = GLOSSARY) -> set[str]:
    """Names of the terms in the business glossary (any depth of nodes)."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))

    def walk(node: dict[str, Any]) -> set[str]:
        found = {str(term["name"]) for term in node.get("terms") or []}
        for child in node.get("nodes") or []:
            found |= walk(child)
        return found

    return walk(document)


def _meta(entry: dict[str, Any]) -> dict[str, Any]:
    """dbt 1.10+ keeps meta under `config.meta`; older manifests have it at the top. Both count."""
    return {**(entry.get("meta") or {}), **((entry.get("config") or {}).get("meta") or {})}


def check_manifest_data(
    manifest: dict[str, Any], catalog: dict[str, Any] | None = None, terms: set[str] | None = None
) -> list[Violation]:
    """Every violation of the policy by the project's models, sorted by model then column.

    With `catalog` (dbt's catalog.json), columns that the models' YAML does not declare are checked
    too: a personal column nobody declared cannot carry its tag.
    """
    project = manifest.get("metadata", {}).get("project_name")
    known_terms = glossary_terms() if terms is None else terms
    violations: list[Violation] = []
    for unique_id, node in manifest.get("nodes", {}).items():
        if node.get("resource_type") != "model" or (project and node.get("package_name") != project):
            continue
        model = str(node["name"])
        meta = _meta(node)
        if not (node.get("description") or "").strip():
            violations.append(Violation(model, "has no description"))
        elif PLACEHOLDER in node["description"]:
            violations.append(Violation(model, "has a placeholder in its description (TODO:): write it"))
        for key in REQUIRED_META:
            if not str(meta.get(key) or "").strip():
                violations.append(Violation(model, f"has no {key} (config.meta.{key})"))
            elif PLACEHOLDER in str(meta[key]):
                violations.append(Violation(model, f"config.meta.{key} is a placeholder (TODO:): fill it in"))
        access = meta.get("access")
        if access and access not in ACCESS_LEVELS:
            violations.append(Violation(model, f"access must be one of {', '.join(ACCESS_LEVELS)}, not {access!r}"))
        columns: dict[str, dict[str, Any]] = {name.lower(): spec for name, spec in node.get("columns", {}).items()}
        if catalog is not None:
            for name in catalog.get("nodes", {}).get(unique_id, {}).get("columns") or {}:
                columns.setdefault(name.lower(), {})
        for column, spec in sorted(columns.items()):
            column_meta = _meta(spec)
            if PLACEHOLDER in (spec.get("description") or ""):
                violations.append(Violation(model, "has a placeholder in its description (TODO:): write it", column))
            pii = column_meta.get("contains_pii") is True
            if looks_personal(column) and not pii and not column_meta.get("masking"):
                violations.append(
                    Violation(
                        model,
                        "looks personal but has no tag: add config.meta.contains_pii: true "
                        "(or meta.masking: <how> once it is masked or hashed)",
                        column,
                    )
                )
            if pii and access == "broad":
                violations.append(
                    Violation(model, "is personal data in clear in a model with access: broad; mask or drop it", column)
                )
            term = column_meta.get("glossary_term")
            if term and str(term) not in known_terms:
                violations.append(Violation(model, f"glossary_term {term!r} is not in governance/glossary.yml", column))
    violations += _exposure_violations(manifest)
    return sorted(violations, key=lambda v: (v.model, v.column or "", v.message))


def _exposure_violations(manifest: dict[str, Any]) -> list[Violation]:
    """Exposures (pages, dashboards) carry an access class, and a `broad` one publishes no personal
    column in clear: `meta.publishes` lists the `model.column`s it shows."""
    nodes = {str(n["name"]): n for n in manifest.get("nodes", {}).values() if n.get("resource_type") == "model"}
    nodes_by_id = {key: n for key, n in manifest.get("nodes", {}).items() if n.get("resource_type") == "model"}
    violations: list[Violation] = []
    for exposure in manifest.get("exposures", {}).values():
        name = f"exposure {exposure['name']}"
        meta = _meta(exposure)
        access = meta.get("access")
        if access not in ACCESS_LEVELS:
            violations.append(Violation(name, f"needs config.meta.access: one of {', '.join(ACCESS_LEVELS)}"))
        if access == "broad" and meta.get("explorable") is True:
            for parent in exposure.get("depends_on", {}).get("nodes", []):
                node = nodes_by_id.get(parent)
                if node is not None and _meta(node).get("access") != "broad":
                    violations.append(
                        Violation(
                            name,
                            f"is explorable with access: broad but reads {node['name']}, a model with access: "
                            f"{_meta(node).get('access')}; read its broad (masked) model or restrict the exposure",
                        )
                    )
        published = meta.get("publishes")
        if not isinstance(published, list) or not published:
            violations.append(Violation(name, "needs config.meta.publishes: the model.column entries it shows"))
            continue
        for entry in published:
            model, _, column = str(entry).partition(".")
            node = nodes.get(model)
            spec = {k.lower(): v for k, v in (node or {}).get("columns", {}).items()}.get(column.lower())
            if node is None or spec is None:
                violations.append(Violation(name, f"publishes {entry}, which is not a documented model column"))
                continue
            pii = _meta(spec).get("contains_pii") is True
            if pii and access == "broad":
                violations.append(
                    Violation(
                        name,
                        f"publishes {entry}, personal data, with access: broad; hide it or restrict the exposure",
                        column,
                    )
                )
    return violations


def check_manifest(manifest_path: Path, catalog_path: Path | None = None) -> list[Violation]:
    """The policy's violations for a manifest.json file (and optionally its catalog.json)."""
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    catalog = json.loads(catalog_path.read_text(encoding="utf-8")) if catalog_path else None
    return check_manifest_data(manifest, catalog)


def enforce(manifest_path: Path, catalog_path: Path | None = None) -> None:
    """Raise PolicyError listing every violation; return quietly when the project complies."""
    violations = check_manifest(manifest_path, catalog_path)
    if violations:
        lines = "\n".join(f"  - {v}" for v in violations)
        raise PolicyError(
            f"{len(violations)} governance policy violation(s) in {manifest_path}:\n{lines}\n"
            "Fix the models' YAML (dbt_project/models/**/*.yml), run `dbt parse`, and check again."
        )
