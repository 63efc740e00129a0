"""A dataset nobody wrote models for: infer -> load -> extract -> scaffold -> `dbt build` on Spark.

The scaffold writes into a copy of the dbt project, so the repository's own models stay as they
are. The CSV files carry what users bring and a review found the scaffold mishandling: a table
without a key holding duplicate rows, reserved words and colliding names as headers, a byte-order
mark, a foreign key named after its table (`customer_id` -> customers' `id`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ingest.core.settings import REPO_ROOT, MySQLSettings
from ingest.extract import ExtractOptions, extract_dataset
from ingest.infer import infer_contract
from ingest.load import LoadOptions, load_dataset
from ingest.scaffold import scaffold

BUILD_AND_COUNT = """
import json, sys
from dbt.cli.main import dbtRunner

dbt = dbtRunner()  # one process, one Spark session
built = dbt.invoke(["build", "--select", "tag:shop+", "--target", "local"])
counts = {}
for model in sys.argv[1:]:
    query = "select count(*) as n from {{ ref('" + model + "') }}"
    shown = dbt.invoke(["show", "--inline", query, "--target", "local"])
    counts[model] = int(shown.result.results[0].agate_table.rows[0][0]) if shown.success else None
print("COUNTS=" + json.dumps({"built": built.success, "counts": counts}))
"""


@pytest.fixture(scope="module")
def shop_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("shop-csv")
    events = ["Order ID,order_id,select,date"] + ["1,1,view,2024-01-01"] * 3 + ["2,2,buy,2024-01-02"]
    (folder / "events.csv").write_bytes(b"\xef\xbb\xbf" + ("\n".join(events) + "\n").encode())
    customers = ["id,segment"] + [f"{i},{['retail', 'trade'][i % 2]}" for i in range(1, 9)]
    (folder / "customers.csv").write_text("\n".join(customers) + "\n")
    orders = ["id,customer_id,total"] + [f"{i},{i % 8 + 1},{i}.25" for i in range(1, 30)]
    (folder / "orders.csv").write_text("\n".join(orders) + "\n")
    return folder


def test_a_scaffolded_dataset_builds_on_spark_and_keeps_every_row(
    shop_folder: Path, tmp_path: Path, database: str, mysql_settings: MySQLSettings
) -> None:
    contract, _ = infer_contract(shop_folder, "shop")
    load_dataset(contract, shop_folder, mysql_settings, LoadOptions(database=database))
    lake = tmp_path / "lake"
    extract_dataset(contract, mysql_settings, f"file://{lake}", ExtractOptions(database=database, mode="full"))

    project = tmp_path / "project"
    shutil.copytree(REPO_ROOT / "dbt_project", project / "dbt_project")
    for name in ("dbt_project.yml", "selectors.yml"):
        shutil.copyfile(REPO_ROOT / name, project / name)
    shutil.copytree(REPO_ROOT / "profiles", project / "profiles")
    report = scaffold(contract, project / "dbt_project" / "models", shop_folder)
    assert len(report.written) == 7  # the sources file, and a model and its YAML per table

    env = {
        **os.environ,
        "LAKEHOUSE_LOCAL_DIR": str(tmp_path / "local"),
        "LAKEHOUSE_LAKE_URI": f"file://{lake}",
        "DBT_PROFILES_DIR": str(project / "profiles"),
        "DBT_TARGET_PATH": str(tmp_path / "target"),
        "DBT_LOG_PATH": str(tmp_path / "logs"),
        "DO_NOT_TRACK": "1",
    }
    models = ["stg_shop__events", "stg_shop__customers", "stg_shop__orders"]
    result = subprocess.run(
        [sys.executable, "-c", BUILD_AND_COUNT, *models],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    line = next((row for row in result.stdout.splitlines() if row.startswith("COUNTS=")), None)
    assert line is not None, result.stdout[-4000:] + result.stderr[-2000:]
    outcome = json.loads(line.removeprefix("COUNTS="))
    assert outcome["built"], result.stdout[-6000:]  # views, and every scaffolded test passed
    assert outcome["counts"] == {"stg_shop__events": 4, "stg_shop__customers": 8, "stg_shop__orders": 29}
