"""The URN check finds what DataHub users trip over: one thing spelled as two datasets."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from governance.urns import check, dataset_urns

NAMES = st.from_regex(r"[a-z][a-z0-9_]{0,10}\.[a-z][a-z0-9_]{0,10}", fullmatch=True)
PLATFORMS = {"mysql": {"mysql", "mariadb"}}


def urn(platform: str, name: str) -> str:
    return f"urn:li:dataset:(urn:li:dataPlatform:{platform},{name},PROD)"


@given(st.lists(NAMES, min_size=1, max_size=8, unique=True))
def test_the_exact_urns_pass(names: list[str]) -> None:
    expected = {f"mysql {n}": urn("mysql", n) for n in names}
    assert check(expected, set(expected.values()), PLATFORMS) == []


@given(NAMES.filter(lambda n: n != n.upper()))
def test_another_case_of_the_same_name_is_a_problem(name: str) -> None:
    expected = {f"mysql {name}": urn("mysql", name)}
    problems = check(expected, {urn("mysql", name), urn("mysql", name.upper())}, PLATFORMS)
    assert len(problems) == 1 and "also spelled" in problems[0]


@given(NAMES)
def test_another_platform_of_the_same_kind_is_a_problem_and_a_missing_urn_too(name: str) -> None:
    expected = {f"mysql {name}": urn("mysql", name)}
    problems = check(expected, {urn("mariadb", name)}, PLATFORMS)
    assert any("not in the metadata" in p for p in problems) and any("also spelled" in p for p in problems)


PATHS = st.lists(st.from_regex(r"[a-zA-Z0-9_.=-]{1,12}", fullmatch=True), min_size=1, max_size=5).map("/".join)


@given(PATHS)
def test_a_local_folder_named_without_its_leading_slash_is_a_problem(path: str) -> None:
    # DataHub's own sources disagree: its `s3` source names /lake/x `lake/x`, its Airflow plugin `/lake/x`.
    expected = {f"lake /{path}": urn("file", f"/{path}")}
    problems = check(expected, {urn("file", f"/{path}"), urn("file", path)}, {"lake": {"file", "s3", "gcs"}})
    assert len(problems) == 1 and f"also spelled {urn('file', path)}" in problems[0]


def test_a_platform_spelled_in_another_case_is_a_problem() -> None:
    expected = {"mysql db.orders": urn("mysql", "db.orders")}
    problems = check(expected, {urn("mysql", "db.orders"), urn("MySQL", "db.orders")}, PLATFORMS)
    assert len(problems) == 1 and "also spelled" in problems[0]


def test_a_local_folder_and_a_bucket_of_the_same_name_are_two_things() -> None:
    # /bkt/lake on a laptop and gs://bkt/lake are not one dataset: only a slash tells them apart.
    expected = {"lake /bkt/lake/raw/t": urn("file", "/bkt/lake/raw/t")}
    found = {urn("file", "/bkt/lake/raw/t"), urn("gcs", "bkt/lake/raw/t")}
    assert check(expected, found, {"lake": {"file", "s3", "gcs"}}) == []


def test_a_sibling_on_another_kind_s_platform_is_not_a_problem() -> None:
    # dbt and Spark name one model on purpose (DataHub's siblings); only the dbt kind is checked here.
    expected = {"dbt m": urn("dbt", "s.m")}
    assert check(expected, {urn("dbt", "s.m"), urn("spark", "s.m")}, {"dbt": {"dbt"}}) == []


def test_urns_are_found_anywhere_in_a_record() -> None:
    records: list[dict[str, Any]] = [
        {"entityUrn": urn("dbt", "a.b"), "aspect": {"json": {"upstreams": [{"dataset": urn("mysql", "c.d")}]}}},
        {"proposedSnapshot": {"urn": "urn:li:dataJob:(x,y)", "inputs": [urn("file", "/lake/raw/t")]}},
    ]
    assert dataset_urns(records) == {urn("dbt", "a.b"), urn("mysql", "c.d"), urn("file", "/lake/raw/t")}
