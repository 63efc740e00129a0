"""The command line as a user meets it: help everywhere, clear errors, a private server script."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ingest.core.mysql import connect
from ingest.core.settings import REPO_ROOT, MySQLSettings
from tests.net import free_port

CLI = [sys.executable, "-m", "ingest"]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], cwd=REPO_ROOT, capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=120
    )


@pytest.mark.parametrize("command", [[], ["generate-tpch"], ["infer"], ["load"], ["quarantine"]])
def test_every_command_has_help(command: list[str]) -> None:
    result = run(*command, "--help")
    assert result.returncode == 0
    assert "Usage" in result.stdout
    assert "--help" in result.stdout


def test_load_needs_exactly_one_contract() -> None:
    result = run("load")
    assert result.returncode == 2
    assert "exactly one of --dataset NAME" in result.stderr
    result = run("load", "--dataset", "nope")
    assert result.returncode == 2
    assert "no shipped contract for dataset 'nope'" in result.stderr


def test_unreachable_mysql_says_how_to_get_one(tpch_dir: Path) -> None:
    env = {"LAKEHOUSE_MYSQL_URL": f"mysql://root:s3cret@127.0.0.1:{free_port()}"}
    result = run("load", "--dataset", "tpch", "--source", str(tpch_dir), env=env)
    assert result.returncode == 1
    assert "cannot reach MySQL at mysql://root:***@127.0.0.1" in result.stderr
    assert "scripts/mysql-local.sh start" in result.stderr
    assert "s3cret" not in result.stderr + result.stdout


def test_load_prints_a_summary(tpch_dir: Path, database: str) -> None:
    result = run("load", "--dataset", "tpch", "--source", str(tpch_dir), "--database", database, "--tables", "nation")
    assert result.returncode == 0, result.stderr
    assert "nation" in result.stdout and "25" in result.stdout and "replaced" in result.stdout


def test_private_server_script_starts_a_working_mysql(tmp_path: Path) -> None:
    """scripts/mysql-local.sh starts MariaDB under a folder of ours when nothing answers."""
    port = free_port()
    env = {**os.environ, "LAKEHOUSE_LOCAL_DIR": str(tmp_path), "LAKEHOUSE_MYSQL_URL": f"mysql://root@127.0.0.1:{port}"}
    script = str(REPO_ROOT / "scripts" / "mysql-local.sh")
    started = subprocess.run([script, "ensure"], env=env, capture_output=True, text=True, timeout=120)
    try:
        assert started.returncode == 0, started.stderr
        assert f"private MySQL started on 127.0.0.1:{port}" in started.stdout
        conn = connect(MySQLSettings.from_url(env["LAKEHOUSE_MYSQL_URL"]))
        with conn.cursor() as cursor:
            cursor.execute("SELECT @@datadir, @@local_infile")
            row = cursor.fetchone()
        conn.close()
        assert row is not None
        assert row[0].startswith(str(tmp_path / "mysql"))
        assert row[1] == 1
        again = subprocess.run([script, "ensure"], env=env, capture_output=True, text=True, timeout=60)
        assert "already answers" in again.stdout
    finally:
        subprocess.run([script, "stop"], env=env, capture_output=True, timeout=60)
    assert subprocess.run([script, "status"], env=env, capture_output=True).returncode == 1


def test_quarantine_shows_rejected_records_as_written(tmp_path: Path) -> None:
    from ingest.load.quarantine import QuarantineFile

    path = tmp_path / "t.csv.run.rejects.jsonl"
    quarantine = QuarantineFile(path, "utf-8")
    quarantine.add(7, "column day: '69-12-31' is not a date (YYYY-MM-DD)", b'=HYPERLINK("x"),69-12-31\r\n')
    quarantine.add(3, "invalid utf-8 bytes at line 3, byte 3", b"1,\xff\n")
    quarantine.close()
    result = run("quarantine", str(path))
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())
    assert "69-12-31" in text and "=HYPERLINK" in text and "\\r\\n" in text and "\\xff" in text
    assert text.index("invalid utf-8") < text.index("is not a date")  # in line order
