"""One rule for where the lake is: Python's `resolve_lake_uri` and dbt's `lake_location` macro agree
on generated paths (spaces, '#', '%', '?', '..', relative paths, percent-encoded URIs, buckets)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path, PurePosixPath

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.core import lake as lakes
from ingest.core.settings import REPO_ROOT

DBT = str(Path(sys.executable).parent / "dbt")
PART = st.text(alphabet=st.sampled_from(list("abcXYZ019 #%?&+=,;@!$()[]{}~-_.é")), min_size=1, max_size=8)
ASCII_PART = st.text(alphabet=st.sampled_from(list("abcXYZ019 #%?&+=,;@!$()[]{}~-_.")), min_size=1, max_size=8)
PARTS = st.lists(st.one_of(PART, st.just(".."), st.just(".")), min_size=1, max_size=5)


def plain(parts: list[str], absolute: bool) -> str:
    return ("/" if absolute else "") + "/".join(parts)


@st.composite
def lake_settings(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["absolute", "relative", "file-uri", "bucket"]))
    if kind == "bucket":
        prefix = draw(
            st.lists(st.text(alphabet="abc019-_.", min_size=1, max_size=6).filter(lambda p: p != ".."), max_size=3)
        )
        return "gs://lake-bucket/" + "/".join(prefix) + draw(st.sampled_from(["", "/"]))
    if kind == "file-uri":
        parts = draw(st.lists(ASCII_PART.filter(lambda p: p not in (".", "..")), min_size=1, max_size=4))
        return Path("/" + "/".join(parts)).as_uri()  # percent-encoded, as Python writes it
    return plain(draw(PARTS), absolute=kind == "absolute")


def dbt_locations(values: list[str]) -> list[str]:
    env = {**os.environ, "PWD": str(REPO_ROOT), "DO_NOT_TRACK": "1"}
    args = json.dumps({"given": values})
    result = subprocess.run(
        [DBT, "run-operation", "show_lake", "--args", args, "--quiet"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return list(json.loads(result.stdout.strip().splitlines()[-1]))


def python_location(value: str) -> str:
    cwd = os.getcwd()
    try:
        os.chdir(REPO_ROOT)
        return lakes.spark_location(lakes.parse_lake(lakes.resolve_lake_uri(value)))
    finally:
        os.chdir(cwd)


@settings(max_examples=1, deadline=None, derandomize=True)
@given(values=st.lists(lake_settings().filter(lambda v: not _unsafe(v)), min_size=60, max_size=60))
def test_python_and_dbt_resolve_every_lake_setting_alike(values: list[str]) -> None:
    values += ["lake", "./a b/../lake #1", "/tmp/x%25y/lake", "file:///tmp/a%20b%23c", "file://localhost/tmp/q",
               "gs://bucket", "gs://bucket/", "/", "//twice//slashes/"]  # fmt: skip
    assert dbt_locations(values) == [python_location(v) for v in values]


def _unsafe(value: str) -> bool:
    return any(c in value for c in "'\\") or (value.startswith("gs://") and ".." in PurePosixPath(value[5:]).parts)


@pytest.mark.parametrize(
    "value", ["/tmp/it's", "file://host/x", "file:///a#b", "s3://bucket/x", "gs://", "gs://b/../x"]
)
def test_both_refuse_what_they_cannot_place(value: str) -> None:
    with pytest.raises(lakes.LakeError):
        lakes.parse_lake(value)
    env = {**os.environ, "PWD": str(REPO_ROOT), "DO_NOT_TRACK": "1"}
    result = subprocess.run(
        [DBT, "run-operation", "show_lake", "--args", json.dumps({"given": [value]})],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode != 0 and "lake" in result.stdout.lower()
