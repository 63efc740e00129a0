"""DataHub's `gcs` data-lake source, the production recipe, over the S3 API of a local server.

No GCS S3 endpoint exists here, so the shared chain's lake (TPC-H 0.01) is copied into a bucket of
moto's S3 server, and `governance/recipes/lake-gcs.yml` runs in .venv-governance with the HMAC key
from the environment and the source's endpoint (`GCS_ENDPOINT_URL`, read when the source starts)
pointed at that server. What it emits must name every raw table and model folder as the lineage and
the Airflow plugin name them on GCS, with the schemas the local source read, and never hold the key.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from datahub_airflow_plugin._airflow_asset_adapter import translate_airflow_asset_to_urn
from moto.server import ThreadedMotoServer

from governance.aspects import merge_aspects
from governance.lake_profiles import committed_view, lake_urn, lakehouse_zone_mcps, raw_tables
from governance.lake_source import LakeSourceError, governance_venv, recipe_for, run_lake_source
from governance.urns import check, dataset_urns
from ingest.core.contract import contract_path, load_contract
from ingest.core.lake import parse_lake
from ingest.extract.batches import DELETED
from orchestration.config import raw_asset
from tests.conftest import TPCH_ROWS
from tests.net import free_port
from tests.pipeline import Pipeline

pytestmark = pytest.mark.slow

BUCKET = "lakehouse-test"
PREFIX = "prod/lake"
HMAC_ID = "GOOG1ETESTHMACACCESSID"
HMAC_SECRET = "test-hmac-secret-0f1e2d3c4b5a69788796a5b4c3d2e1f0"


def gcs_source_at(endpoint: str) -> list[str]:
    """`datahub` of the governance environment with the gcs source's endpoint set to `endpoint`."""
    start = (
        "import sys\n"
        "import datahub.ingestion.source.gcs.gcs_source as gcs\n"
        "gcs.GCS_ENDPOINT_URL = sys.argv.pop(1)\n"
        "from datahub.entrypoints import main\n"
        "sys.exit(main())\n"
    )
    return [str(governance_venv() / "bin" / "python"), "-c", start, endpoint]


@pytest.fixture(scope="module")
def s3_server() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture(scope="module")
def lake_in_bucket(built_chain: Pipeline, s3_server: str) -> Path:
    """The chain's raw and lakehouse zones uploaded through the S3 API; returns the local lake."""
    client = boto3.client(
        "s3",
        endpoint_url=s3_server,
        aws_access_key_id=HMAC_ID,
        aws_secret_access_key=HMAC_SECRET,
        region_name="us-east-1",
    )
    client.create_bucket(Bucket=BUCKET)
    local = built_chain.lake
    for path in sorted([*(local / "raw").rglob("*"), *(local / "lakehouse").rglob("*")]):
        if path.is_file():
            client.upload_file(str(path), BUCKET, f"{PREFIX}/{path.relative_to(local).as_posix()}")
    return local


@pytest.fixture(scope="module")
def emitted(
    lake_in_bucket: Path, s3_server: str, tmp_path_factory: pytest.TempPathFactory
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(what the gcs recipe emits over S3, what the local recipe emits over the same files)."""
    work = tmp_path_factory.mktemp("lake-source")
    with pytest.MonkeyPatch.context() as env:  # the key as the `lakehouse_gcs_hmac` connection gives it
        env.delenv("LAKEHOUSE_GCS_HMAC_ID", raising=False)
        env.delenv("LAKEHOUSE_GCS_HMAC_SECRET", raising=False)
        lake = parse_lake(f"gs://{BUCKET}/{PREFIX}")
        remote = run_lake_source(
            lake, work / "gcs.json", hmac_key=(HMAC_ID, HMAC_SECRET), command=gcs_source_at(s3_server)
        )
    local = run_lake_source(parse_lake(f"file://{lake_in_bucket}"), work / "local.json")
    return remote, local


def schemas(records: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Dataset name (after the lake's root) -> its schema's field names."""
    found = {}
    for record in records:
        if record.get("aspectName") == "schemaMetadata":
            name = record["entityUrn"].split(",")[1]
            key = name[name.index("/raw/") if "/raw/" in name else name.index("/lakehouse/") :]
            found[key] = [f["fieldPath"] for f in record["aspect"]["json"]["fields"]]
    return found


def test_the_gcs_recipe_names_every_table_as_the_lineage_and_the_airflow_plugin_do(
    emitted: tuple[list[dict[str, Any]], list[dict[str, Any]]], lake_in_bucket: Path
) -> None:
    remote, _ = emitted
    lake = parse_lake(f"gs://{BUCKET}/{PREFIX}")
    expected: dict[str, str] = {}
    for table in TPCH_ROWS:
        key = f"raw/tpch/{table}"
        expected[f"lake {key}"] = lake_urn(lake, key)
        asset_urn = translate_airflow_asset_to_urn(raw_asset("tpch", table, lake.uri))
        assert asset_urn is not None
        expected[f"asset {key}"] = asset_urn
    for folder in (lake_in_bucket / "lakehouse").iterdir():
        if any(folder.rglob("*.parquet")):
            expected[f"lake lakehouse/{folder.name}"] = lake_urn(lake, f"lakehouse/{folder.name}")
    urns = dataset_urns(remote)
    assert check(expected, urns, {"lake": {"file", "s3", "gcs"}, "asset": {"file", "s3", "gcs"}}) == []
    assert {u for u in urns if u.startswith("urn:li:dataset:")} == set(expected.values())
    assert all(u.startswith(f"urn:li:dataset:(urn:li:dataPlatform:gcs,{BUCKET}/{PREFIX}/") for u in urns)


def test_the_gcs_recipe_reads_the_schemas_the_local_recipe_reads(
    emitted: tuple[list[dict[str, Any]], list[dict[str, Any]]],
) -> None:
    remote, local = emitted
    over_s3, on_disk = schemas(remote), schemas(local)
    assert set(over_s3) == set(on_disk) and len(over_s3) >= len(TPCH_ROWS)
    assert over_s3 == on_disk


def test_the_hmac_secret_is_in_nothing_the_source_emits(
    emitted: tuple[list[dict[str, Any]], list[dict[str, Any]]],
) -> None:
    assert HMAC_SECRET not in json.dumps(emitted[0])


def test_a_gs_lake_without_an_hmac_key_or_with_an_unreachable_endpoint_fails_clearly(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    lake = parse_lake(f"gs://{BUCKET}/{PREFIX}")
    monkeypatch.delenv("LAKEHOUSE_GCS_HMAC_ID", raising=False)
    monkeypatch.setenv("LAKEHOUSE_GCS_HMAC_SECRET", HMAC_SECRET)
    with pytest.raises(LakeSourceError, match="set LAKEHOUSE_GCS_HMAC_ID"):
        recipe_for(lake)
    monkeypatch.setenv("LAKEHOUSE_GCS_HMAC_ID", HMAC_ID)
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with pytest.raises(LakeSourceError, match="data-lake source failed") as failed:
        run_lake_source(lake, tmp_path / "out.json", command=gcs_source_at(closed))
    assert HMAC_SECRET not in str(failed.value)


def test_what_readers_do_not_see_is_not_a_dataset_and_an_upload_in_progress_does_not_change_a_schema(
    built_chain: Pipeline, tmp_path: Path
) -> None:
    """The chain's lake, copied, then disturbed: a newer batch of `customer` without its manifest (an
    upload in progress) and with other columns, a raw table with no committed batch, the folder of a
    model that no longer exists, and Spark's `_temporary/` left in a partitioned model's folder."""
    root = tmp_path / "lake"
    for zone in ("raw", "lakehouse"):
        shutil.copytree(built_chain.lake / zone, root / zone)
    other = pa.table({"c_custkey": [1], "customer_ref": ["x"], DELETED: [False]})
    uploading = root / "raw/tpch/customer/batch=99991231T000000000000Z-ffffff"
    uploading.mkdir()
    pq.write_table(other, uploading / "part-00000.parquet")
    pending = root / "raw/tpch/pending/batch=20260101T000000000000Z-aaaaaa"
    pending.mkdir(parents=True)
    pq.write_table(other, pending / "part-00000.parquet")
    (root / "lakehouse/dropped_model").mkdir()
    pq.write_table(other, root / "lakehouse/dropped_model/part-00000.parquet")
    unfinished = root / "lakehouse/fct_order_lines/_temporary/0/_temporary/attempt_0"
    unfinished.mkdir(parents=True)
    pq.write_table(other, unfinished / "part-00009.parquet")

    lake = parse_lake(f"file://{root}")
    manifest = json.loads((built_chain.target / "manifest.json").read_text())
    contract = load_contract(contract_path("tpch"))
    raw = {t.urn: t for t in raw_tables(lake, "tpch", [t.name for t in contract.tables])}
    lakehouse = [m.to_obj(simplified_structure=True) for m in lakehouse_zone_mcps(lake, manifest)]
    known = set(raw) | {r["entityUrn"] for r in lakehouse}
    records = committed_view(run_lake_source(lake, tmp_path / "out.json"), lake, known, raw)
    merged = merge_aspects(records + lakehouse)

    datasets = {r["entityUrn"] for r in merged if r["entityUrn"].startswith("urn:li:dataset:")}
    assert datasets == known and len(known) > len(TPCH_ROWS)
    assert lake_urn(lake, "raw/tpch/pending") not in datasets
    assert lake_urn(lake, "lakehouse/dropped_model") not in datasets
    fields = {
        r["entityUrn"]: [f["fieldPath"] for f in r["aspect"]["json"]["fields"]]
        for r in merged
        if r.get("aspectName") == "schemaMetadata"
    }
    customer = [c.name for c in next(t for t in contract.tables if t.name == "customer").columns]
    assert fields[lake_urn(lake, "raw/tpch/customer")] == [*customer, DELETED, "batch"]
    lines = lake_urn(lake, "lakehouse/fct_order_lines")
    assert "order_month" in fields[lines]
    profile = next(r for r in merged if r["entityUrn"] == lines and r.get("aspectName") == "datasetProfile")
    assert profile["aspect"]["json"]["rowCount"] == TPCH_ROWS["lineitem"]
