"""The `shop.accounts` example contract the incremental and CDC tests share, and its helpers."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from ingest.core.contract import Contract
from ingest.core.mysql import connect
from ingest.core.settings import REPO_ROOT, MySQLSettings
from ingest.extract import ExtractOptions, TableResult, extract_dataset
from ingest.extract import batches as lakebatches

ACCOUNTS = Contract.model_validate(
    {
        "dataset": "shop",
        "tables": [
            {
                "name": "accounts",
                "files": "accounts.csv",
                "primary_key": ["id"],
                "cursor": "updated_at",
                "columns": [
                    {"name": "id", "type": "INT", "nullable": False},
                    {"name": "balance", "type": "DECIMAL(12,2)", "nullable": False},
                    {"name": "note", "type": "VARCHAR(40)"},
                    {"name": "updated_at", "type": "DATETIME(6)", "nullable": False},
                ],
            }
        ],
    }
)
TABLE = ACCOUNTS.tables[0]
T = dt.datetime(2024, 1, 2, 10, 0, 0)  # the watermark of the example


def incremental(settings: MySQLSettings, lake: str, database: str, **knobs: Any) -> TableResult:
    options = ExtractOptions(database=database, mode="incremental", **knobs)
    [result] = extract_dataset(ACCOUNTS, settings, lake, options)
    return result


def execute(settings: MySQLSettings, database: str, sql: str, *params: Any) -> None:
    conn = connect(settings, database)
    try:
        with conn.cursor() as cursor:
            cursor.execute(sql, params)
    finally:
        conn.close()


def in_mysql(settings: MySQLSettings, database: str) -> list[dict[str, Any]]:
    conn = connect(settings, database)
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT id, balance, note, updated_at FROM accounts ORDER BY id")
            return [
                {"id": i, "balance": b, "note": n, "updated_at": u.replace(tzinfo=dt.UTC)}
                for i, b, n, u in cursor.fetchall()
            ]
    finally:
        conn.close()


def in_lake(lake: str) -> list[dict[str, Any]]:
    rows = lakebatches.read_current(lake, "shop", "accounts").sort_by("id").to_pylist()
    return [{**r, "updated_at": r["updated_at"].astimezone(dt.UTC)} for r in rows]


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return "?"


def run_extract(contract: Path, database: str, lake: str, mode: str, stop_at: str | None = None) -> int:
    """`python -m ingest extract` in a process of its own; with `stop_at`, SIGKILLed at that step."""
    env = {**os.environ, "LAKEHOUSE_EXTRACT_STOP_AT": stop_at or ""}
    command = [sys.executable, "-m", "ingest", "extract", "--contract", str(contract), "--database", database,
               "--lake", lake, "--mode", mode, "--keep", "1", "--retention-grace", "0"]  # fmt: skip
    process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if stop_at is None:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, out.decode()[-3000:] + err.decode()[-3000:]
        return 0
    deadline = time.monotonic() + 120
    while _state(process.pid) != "T" and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert process.poll() is None, f"the extract ended before step {stop_at}: {process.communicate()}"
    process.send_signal(signal.SIGKILL)
    process.communicate()
    return int(process.returncode)
