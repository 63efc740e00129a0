"""The analyst's path: after the pipeline ran, a plain `dbt build` in a shell that has only the
venv on its PATH (`env -i PATH=... HOME=...`, no make, no exported variables) builds the masked
models with the key the laptop keeps in .local/pseudonym.key, and without one stops at once with
one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from ingest.core.settings import REPO_ROOT
from tests.pipeline import Pipeline

VENV_BIN = Path(sys.executable).parent
MASKED = ["dim_customer_masked", "dim_supplier_masked"]


@pytest.fixture()
def checkout(tmp_path: Path, built_chain: Pipeline) -> Path:
    """The repository as a user has it after `make demo`: the dbt project, and .local holding the
    lake and Spark's metastore (the built chain's)."""
    folder = tmp_path / "checkout"
    folder.mkdir()
    for name in ("dbt_project.yml", "dbt_project", "selectors.yml"):
        (folder / name).symlink_to(REPO_ROOT / name)
    (folder / "profiles.yml").symlink_to(REPO_ROOT / "profiles" / "profiles.yml")
    (folder / ".local").symlink_to(built_chain.root)
    return folder


def plain_shell(folder: Path, command: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": f"{VENV_BIN}:/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root")}
    return subprocess.run(
        ["env", "-i", *(f"{k}={v}" for k, v in env.items()), "bash", "-c", command],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=900,
    )


def masked_rows(chain: Pipeline, model: str) -> list[tuple[object, ...]]:
    files = f"{chain.lake}/lakehouse/{model}/*.parquet"
    return duckdb.connect().execute(f"select * from read_parquet('{files}') order by all").fetchall()


def test_a_plain_dbt_build_finds_the_laptop_s_key(checkout: Path, built_chain: Pipeline) -> None:
    key_file = built_chain.root / "pseudonym.key"
    before = {model: masked_rows(built_chain, model) for model in MASKED}
    try:
        key_file.unlink(missing_ok=True)
        missing = plain_shell(checkout, f"dbt build --select {' '.join(MASKED)}")
        assert missing.returncode != 0
        lines = [line for line in missing.stdout.splitlines() if "need a pseudonym key" in line]
        assert len(lines) == 1, missing.stdout[-3000:]
        assert f"keep one in {checkout}/.local/pseudonym.key" in lines[0]
        assert "Traceback" not in missing.stdout + missing.stderr

        bad = plain_shell(checkout, f"LAKEHOUSE_PSEUDONYM_KEY=not-a-key dbt build --select {' '.join(MASKED)}")
        assert bad.returncode != 0
        lines = [line for line in bad.stdout.splitlines() if "need a pseudonym key" in line]
        assert len(lines) == 1 and "LAKEHOUSE_PSEUDONYM_KEY is not 64 hex characters" in lines[0], bad.stdout[-3000:]
        assert "not-a-key" not in bad.stdout + bad.stderr

        key_file.write_text(os.environ["LAKEHOUSE_PSEUDONYM_KEY"] + "\n", encoding="utf-8")  # the key the chain used
        key_file.chmod(0o600)
        built = plain_shell(checkout, f"dbt build --select {' '.join(MASKED)}")
        assert built.returncode == 0, built.stdout[-4000:]
        assert "PASS=" in built.stdout and "ERROR=0" in built.stdout
        for model in MASKED:  # the same key gives the same pseudonyms the pipeline wrote
            assert masked_rows(built_chain, model) == before[model]
        leaks = [  # dbt keeps the values of the variables its macros read in partial_parse.msgpack
            path
            for path in (checkout / "target").rglob("*")
            if path.is_file() and os.environ["LAKEHOUSE_PSEUDONYM_KEY"].encode() in path.read_bytes()
        ]
        assert leaks == []
    finally:
        key_file.unlink(missing_ok=True)
