"""One DataHub dataset per thing: the URN check.

DataHub keys a dataset by its URN, `urn:li:dataset:(urn:li:dataPlatform:<platform>,<name>,<env>)`,
compared as an exact string. A MySQL table written `Orders` by one tool and `orders` by another, or a
lake folder named on platform `file` by one source and `s3` by another, becomes two datasets and the
lineage between them breaks: the commonest complaint of DataHub's users. `check` takes the URNs the
project computes for the things it knows (MySQL tables, lake folders, dbt nodes, Airflow Assets) and
says, for each, whether the metadata holds exactly that dataset and no other spelling of it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

DATASET = "urn:li:dataset:"


def dataset_urns(records: Iterable[dict[str, Any]]) -> set[str]:
    """Every dataset URN the metadata file mentions: as an entity, or in lineage and job inputs/outputs."""
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, str):
            if value.startswith(DATASET):
                found.add(value)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    for record in records:
        walk(record)
    return found


def spelling(urn: str) -> str:
    """What must not differ between two URNs of one thing: the name, ignoring case, platform and a
    leading slash (DataHub's `s3` source names a local folder `lake/x`, its Airflow plugin `/lake/x`)."""
    _platform, rest = urn.removeprefix(DATASET).strip("()").split(",", 1)
    return rest.lower().lstrip("/")  # "<name>,<env>"


def check(expected: Mapping[str, str], urns: set[str], platforms: Mapping[str, set[str]]) -> list[str]:
    """Problems, one line each: a thing (`expected`: what -> its URN) whose URN is missing, or whose
    name is also spelled another way (case, or another of the `platforms` its kind may be on)."""
    by_spelling: dict[str, set[str]] = defaultdict(set)
    for urn in urns:
        by_spelling[spelling(urn)].add(urn)
    problems = []
    for what, urn in sorted(expected.items()):
        if urn not in urns:
            problems.append(f"{what}: {urn} is not in the metadata")
        kind = what.split(" ", 1)[0]
        allowed = platforms.get(kind, set())
        others = {
            u
            for u in by_spelling[spelling(urn)] - {urn}
            # the same platform (another case, a missing slash) or another platform of its kind
            if u.split(",", 1)[0] == urn.split(",", 1)[0] or u.split(",", 1)[0].rsplit(":", 1)[-1] in allowed
        }
        if others:
            problems.append(f"{what}: {urn} is also spelled {', '.join(sorted(others))}")
    return problems
