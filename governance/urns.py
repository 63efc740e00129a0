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


def _parts(urn: str) -> tuple[str, str]:
    """(platform, "<name>,<env>") of a dataset URN, both lower case."""
    platform, rest = urn.removeprefix(DATASET).strip("()").split(",", 1)
    return platform.rsplit(":", 1)[-1].lower(), rest.lower()


def spelling(urn: str) -> str:
    """What must not differ between two URNs of one thing: the name, ignoring case, platform and a
    leading slash (DataHub's `s3` source names a local folder `lake/x`, its Airflow plugin `/lake/x`)."""
    return _parts(urn)[1].lstrip("/")


def _same_thing(urn: str, other: str, allowed: set[str]) -> bool:
    """Whether `other` spells `urn`'s thing another way: on its platform (in another case, or without or
    with a leading slash), or by the same name on another platform of its kind."""
    platform, name = _parts(urn)
    other_platform, other_name = _parts(other)
    if other_platform == platform:
        return True  # the same spelling() on one platform
    return other_platform in allowed and other_name == name


def check(expected: Mapping[str, str], urns: set[str], platforms: Mapping[str, set[str]]) -> list[str]:
    """Problems, one line each: a thing (`expected`: what -> its URN) whose URN is missing, or whose
    name is also spelled another way (case, a leading slash, or another of the `platforms` its kind
    may be on)."""
    by_spelling: dict[str, set[str]] = defaultdict(set)
    for urn in urns:
        by_spelling[spelling(urn)].add(urn)
    problems = []
    for what, urn in sorted(expected.items()):
        if urn not in urns:
            problems.append(f"{what}: {urn} is not in the metadata")
        allowed = platforms.get(what.split(" ", 1)[0], set())
        others = {u for u in by_spelling[spelling(urn)] - {urn} if _same_thing(urn, u, allowed)}
        if others:
            problems.append(f"{what}: {urn} is also spelled {', '.join(sorted(others))}")
    return problems
