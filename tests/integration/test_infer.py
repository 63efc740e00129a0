"""`infer` then `load` on CSV files the project has never seen: every value kept."""

from __future__ import annotations

import random
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pymysql
import pytest

from ingest.core.contract import load_contract
from ingest.core.mysql import quote_identifier
from ingest.core.settings import REPO_ROOT, MySQLSettings
from ingest.infer import infer_contract
from ingest.load import LoadOptions, load_dataset


@pytest.fixture()
def user_folder(tmp_path: Path) -> Path:
    """Two files in the shapes people bring: NA nulls, ISO timestamps with Z, a BOM, semicolons."""
    folder = tmp_path / "upload"
    folder.mkdir()
    rng = random.Random(7)
    start = datetime(2024, 3, 1, tzinfo=UTC)
    lines = ["Reading ID,Station,Temp (C),Reading Time,Valid,Zip,Note"]
    for i in range(1, 401):
        temp = "NA" if i % 17 == 0 else f"{rng.uniform(-30, 45):.3f}"
        when = (start + timedelta(minutes=37 * i, milliseconds=125 * (i % 8))).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
        valid = rng.choice(["true", "false"])
        zip_code = f"{rng.randint(0, 99999):05d}"
        note = "NA" if i % 5 == 0 else rng.choice(["ok", 'says "hi", twice', "multi\nline", "ünïcödé"])
        quoted = '"' + note.replace('"', '""') + '"' if note != "NA" else note
        lines.append(f"{i},ST{rng.randint(1, 9)},{temp},{when}Z,{valid},{zip_code},{quoted}")
    (folder / "sensor readings.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")

    stations = ["station_id;name;opened;elevation_m;budget"]
    for i in range(1, 10):
        budget = "" if i == 4 else f"{i * 111_111_111_111}.{i:02d}"  # up to 12 digits before the point
        stations.append(f"ST{i};Station {i} – Nord;2019-0{i}-1{i};{rng.randint(-50, 3000)};{budget}")
    (folder / "stations.csv").write_bytes(b"\xef\xbb\xbf" + ("\r\n".join(stations) + "\r\n").encode())
    return folder


def test_infer_finds_types_nulls_and_keys(user_folder: Path) -> None:
    contract, _notes = infer_contract(user_folder, "weather")
    readings = contract.table("sensor_readings")
    types = {c.name: str(c.type) for c in readings.columns}
    assert types == {
        "reading_id": "INT",
        "station": "VARCHAR(3)",
        "temp_c": "DECIMAL(5,3)",
        "reading_time": "DATETIME(3)",
        "valid": "BOOLEAN",
        "zip": "VARCHAR(5)",  # leading zeros: an identifier, not a number
        "note": "VARCHAR(16)",
    }
    assert readings.primary_key == ["reading_id"]
    # One convention for the folder: NA stands in a typed column here, the empty field in stations.
    assert readings.dialect.null_tokens == ["", "NA"]
    assert "sensor readings.csv:Temp (C)" in (readings.description or "")
    assert readings.column("temp_c").nullable and not readings.column("reading_id").nullable
    assert readings.column("temp_c").header == "Temp (C)"

    stations = contract.table("stations")
    assert stations.dialect.delimiter == ";"
    assert stations.dialect.null_tokens == ["", "NA"]
    assert {c.name: str(c.type) for c in stations.columns} == {
        "station_id": "VARCHAR(3)",
        "name": "VARCHAR(16)",
        "opened": "DATE",
        "elevation_m": "INT",
        "budget": "DECIMAL(14,2)",
    }
    assert stations.primary_key == ["station_id"]


def test_infer_then_load_keeps_every_value(
    user_folder: Path,
    tmp_path: Path,
    database: str,
    mysql_settings: MySQLSettings,
    mysql: pymysql.connections.Connection,  # type: ignore[type-arg]
) -> None:
    contract_file = tmp_path / "weather.yml"
    cli = [sys.executable, "-m", "ingest"]
    infer = subprocess.run(
        [*cli, "infer", "--source", str(user_folder), "--dataset", "weather", "--out", str(contract_file)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert infer.returncode == 0, infer.stderr
    contract = load_contract(contract_file)
    [readings, stations] = load_dataset(contract, user_folder, mysql_settings, LoadOptions(database=database))
    assert readings.total("rows_rejected") == stations.total("rows_rejected") == 0

    db = quote_identifier(database)
    with mysql.cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(*), SUM(temp_c), COUNT(*) - COUNT(temp_c), SUM(valid), COUNT(*) - COUNT(note), "
            f"MIN(reading_time), MAX(reading_time), SUM(CHAR_LENGTH(note)), MIN(zip) FROM {db}.sensor_readings"
        )
        mine = cursor.fetchone()
        cursor.execute(f"SELECT COUNT(*), SUM(budget), COUNT(*) - COUNT(budget), SUM(elevation_m) FROM {db}.stations")
        mine_stations = cursor.fetchone()

    duck = duckdb.connect()
    theirs = duck.execute(
        'SELECT COUNT(*), SUM(CAST("Temp (C)" AS DECIMAL(8,3))), COUNT(*) - COUNT("Temp (C)"), '
        "SUM(CASE WHEN Valid = 'true' THEN 1 ELSE 0 END), COUNT(*) - COUNT(Note), "
        "MIN(CAST(rtrim(\"Reading Time\", 'Z') AS TIMESTAMP)), MAX(CAST(rtrim(\"Reading Time\", 'Z') AS TIMESTAMP)), "
        "SUM(LENGTH(Note)), MIN(Zip) "
        f"FROM read_csv('{user_folder / 'sensor readings.csv'}', header = true, all_varchar = true, nullstr = 'NA')"
    ).fetchone()
    theirs_stations = duck.execute(
        "SELECT COUNT(*), SUM(CAST(budget AS DECIMAL(18,2))), COUNT(*) - COUNT(budget), SUM(CAST(elevation_m AS INT)) "
        f"FROM read_csv('{user_folder / 'stations.csv'}', header = true, all_varchar = true, delim = ';')"
    ).fetchone()
    assert mine is not None and theirs is not None
    assert mine[0] == theirs[0] == 400
    assert Decimal(mine[1]) == theirs[1]
    assert mine[2] == theirs[2] == 23  # every 17th temperature is NA
    assert int(mine[3]) == theirs[3]
    assert mine[4] == theirs[4] == 80
    assert (mine[5], mine[6]) == (theirs[5], theirs[6])  # milliseconds kept, Z read as UTC
    assert int(mine[7]) == theirs[7]
    assert mine[8] == theirs[8]
    assert mine_stations is not None and theirs_stations is not None
    assert mine_stations[0] == theirs_stations[0] == 9
    assert (Decimal(mine_stations[1]), mine_stations[2], int(mine_stations[3])) == tuple(theirs_stations[1:])
    assert mine_stations[2] == 1


def test_odd_file_and_header_names_become_safe_identifiers(tmp_path: Path) -> None:
    folder = tmp_path / "odd"
    folder.mkdir()
    (folder / "2024 sales; DROP TABLE x.csv").write_text('`id`,"a b",a b,x;y\n1,2,3,4\n', encoding="utf-8")
    contract, _ = infer_contract(folder, "odd")
    [table] = contract.tables
    assert table.name == "_2024_sales_drop_table_x"
    assert [c.name for c in table.columns] == ["id", "a_b", "a_b_3", "x_y"]
    assert [c.header_name for c in table.columns] == ["`id`", "a b", "a b", "x;y"]
