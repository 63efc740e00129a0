"""Governance in DataHub, end to end at TPC-H 0.01: load -> extract -> dbt build -> save run results ->
dbt docs generate -> `python -m governance emit --sink lite`, then the emitted metadata file is read back:
every model and source with schema, owners, tags, terms and domain; dbt tests as assertions with results;
an upstream chain from every rpt_ model to a CSV file through MySQL; DataHub Lite browsable by its CLI.
The policy check runs on the fresh manifest, and on copies edited to break it."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest

from governance.aspects import merge_records
from governance.policy import check_manifest_data
from ingest.core.contract import contract_path, load_contract
from ingest.core.personal import looks_personal
from ingest.core.settings import REPO_ROOT
from ingest.extract.batches import DELETED
from orchestration.transform import models_of
from tests.conftest import TPCH_ROWS
from tests.datahub_records import chain_to_csv, dbt_urn, index, upstreams
from tests.pipeline import Pipeline

pytestmark = pytest.mark.slow

DATAHUB = str(Path(sys.executable).parent / "datahub")
# dbt build, the run results saved, then docs generate: one process, so Spark's JVM starts once.


@dataclass
class Governed:
    pipeline: Pipeline
    database: str
    manifest: dict[str, Any]
    records: list[dict[str, Any]]
    aspects: dict[str, dict[str, Any]]  # urn -> aspect name -> value (the last one written)
    lite_file: Path
    home: Path


@pytest.fixture(scope="module")
def governed(built_chain: Pipeline, tmp_path_factory: pytest.TempPathFactory) -> Governed:
    """The shared chain's metadata emitted into the file sink and a private DataHub Lite."""
    root = tmp_path_factory.mktemp("governance")
    home = root / "home"  # DataHub's CLI keeps its config in ~/.datahubenv: never the developer's
    home.mkdir()
    lite_file = root / "lite" / "datahub.db"
    runner = Pipeline(built_chain.root, built_chain.csv_dir, built_chain.database)
    runner.env |= {"HOME": str(home), "DATAHUB_TELEMETRY_ENABLED": "false", "DATAHUB_LITE_FILE": str(lite_file)}
    target = str(built_chain.target)
    emitted = runner.run(sys.executable, "-m", "governance", "emit", "--sink", "lite", "--target-path", target)
    assert emitted.returncode == 0, emitted.stdout[-3000:] + emitted.stderr[-3000:]
    records = json.loads((runner.lake / "governance" / "metadata.json").read_text())
    manifest = json.loads((built_chain.target / "manifest.json").read_text())
    return Governed(runner, built_chain.database, manifest, records, index(records), lite_file, home)


def models(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    return [n for n in manifest["nodes"].values() if n["resource_type"] == "model"]


def field_tags(field: dict[str, Any]) -> set[str]:
    return {t["tag"] for t in (field.get("globalTags") or {}).get("tags", [])}


def field_terms(field: dict[str, Any]) -> set[str]:
    return {t["urn"] for t in (field.get("glossaryTerms") or {}).get("terms", [])}


def test_every_model_has_schema_owners_tags_terms_and_domain(governed: Governed) -> None:
    terms_defined = {
        u for u, a in governed.aspects.items() if u.startswith("urn:li:glossaryTerm:") and "glossaryTermInfo" in a
    }
    assert len(terms_defined) >= 10
    for node in models(governed.manifest):
        meta = node["config"]["meta"]
        aspects = governed.aspects[dbt_urn(f"{node['schema']}.{node['name']}")]
        fields = {f["fieldPath"]: f for f in aspects["schemaMetadata"]["fields"]}
        assert set(fields) >= set(node["columns"]), node["name"]
        owners = {o["owner"] for o in aspects["ownership"]["owners"]}
        assert owners == {f"urn:li:corpGroup:{meta['owner']}"}, node["name"]
        assert aspects["domains"]["domains"] == [f"urn:li:domain:{meta['domain']}"], node["name"]
        assert "domainProperties" in governed.aspects[f"urn:li:domain:{meta['domain']}"]
        tags = {t["tag"] for t in aspects["globalTags"]["tags"]}
        assert {f"urn:li:tag:tier_{meta['tier']}", f"urn:li:tag:{meta['access']}"} <= tags, node["name"]
        for name, column in node["columns"].items():
            column_meta = column["config"]["meta"]
            assert ("urn:li:tag:pii" in field_tags(fields[name])) == bool(column_meta.get("contains_pii")), name
            if "masking" in column_meta:
                assert "urn:li:tag:pii_masked" in field_tags(fields[name])
            if "glossary_term" in column_meta:
                term = f"urn:li:glossaryTerm:Lakehouse.{column_meta['glossary_term']}"
                assert term in field_terms(fields[name]) and term in terms_defined, (node["name"], name)


def test_every_source_has_schema_owner_domain_and_tagged_personal_columns(governed: Governed) -> None:
    for source in governed.manifest["sources"].values():
        aspects = governed.aspects[dbt_urn(f"{source['schema']}.{source['name']}")]
        fields = aspects["schemaMetadata"]["fields"]
        assert {f["fieldPath"] for f in fields} >= set(source["columns"])
        assert aspects["ownership"]["owners"][0]["owner"] == "urn:li:corpGroup:data-platform"
        assert aspects["domains"]["domains"]
        for field in fields:
            assert ("urn:li:tag:pii" in field_tags(field)) == looks_personal(field["fieldPath"]), field["fieldPath"]
    customer = governed.aspects[dbt_urn("raw_tpch.customer")]["schemaMetadata"]["fields"]
    assert {f["fieldPath"] for f in customer if field_tags(f)} == {"c_name", "c_address", "c_phone"}


def test_dbt_tests_are_assertions_with_their_results(governed: Governed) -> None:
    tests = {k for k, n in governed.manifest["nodes"].items() if n["resource_type"] == "test"}
    assertions = {u: a for u, a in governed.aspects.items() if u.startswith("urn:li:assertion:")}
    # One assertion per test and dataset it checks (a relationships test checks two).
    asserted = {a["assertionInfo"]["customProperties"]["dbt_unique_id"] for a in assertions.values()}
    assert asserted == tests and len(tests) >= 100
    # The chain built TPC-H (dbt's default selector): each of its tests has its result; the other
    # datasets' tests are assertions without a run yet.
    tpch = set(models_of("tpch")) | {k for k, s in governed.manifest["sources"].items() if s["source_name"] == "tpch"}
    ran = {k for k in tests if set(governed.manifest["nodes"][k]["depends_on"]["nodes"]) <= tpch}
    assert len(ran) >= 100
    results = {
        a["assertionInfo"]["customProperties"]["dbt_unique_id"]: a["assertionRunEvent"]["result"]["type"]
        for a in assertions.values()
        if "assertionRunEvent" in a
    }
    assert set(results) == ran
    assert set(results.values()) == {"SUCCESS"}


def test_every_report_traces_back_to_a_csv_file_through_mysql(governed: Governed) -> None:
    reports = [n for n in models(governed.manifest) if n["name"].startswith("rpt_")]
    assert len(reports) == 22
    for node in reports:
        for platform in ("dbt", "spark"):
            path = chain_to_csv(governed.aspects, dbt_urn(f"{node['schema']}.{node['name']}", platform))
            assert path is not None, f"{node['name']} ({platform}) has no upstream chain to a CSV file"
            platforms = [urn.split("dataPlatform:")[1].split(",")[0] for urn in path]
            assert "mysql" in platforms, path
            mysql = next(u for u in path if ":mysql," in u)
            assert f",{governed.database}." in mysql
            assert path[-1].startswith("urn:li:dataset:(urn:li:dataPlatform:file," + str(governed.pipeline.csv_dir))
    # One hop spelled out: the dbt source's Spark table <- the lake folder <- MySQL <- the CSV file.
    lake_folder = f"urn:li:dataset:(urn:li:dataPlatform:file,{governed.pipeline.lake}/raw/tpch/customer,PROD)"
    assert upstreams(governed.aspects, dbt_urn("raw_tpch.customer", "spark")) == [lake_folder]
    assert upstreams(governed.aspects, lake_folder) == [dbt_urn(f"{governed.database}.customer", "mysql")]


def test_ingest_hops_are_a_dataflow_of_load_and_extract_jobs(governed: Governed) -> None:
    flow = "urn:li:dataFlow:(lakehouse,ingest_tpch,PROD)"
    assert "dataFlowInfo" in governed.aspects[flow]
    for table in TPCH_ROWS:
        load = governed.aspects[f"urn:li:dataJob:({flow},load.{table})"]
        extract = governed.aspects[f"urn:li:dataJob:({flow},extract.{table})"]
        mysql = dbt_urn(f"{governed.database}.{table}", "mysql")
        assert load["dataJobInputOutput"]["outputDatasets"] == [mysql]
        assert load["dataJobInputOutput"]["inputDatasets"][0].endswith(f"/{table}.csv,PROD)")
        assert extract["dataJobInputOutput"]["inputDatasets"] == [mysql]
        assert extract["dataJobInfo"]["customProperties"]["rows_written"] == str(TPCH_ROWS[table])


def test_lake_datasets_come_from_datahubs_source_with_schemas_and_cheap_profiles(governed: Governed) -> None:
    """DataHub's `s3` source names each raw table and model folder (by its absolute path, the Airflow
    plugin's spelling) and reads its schema from a Parquet file inside it; the row counts come from
    the manifests and footers, and equal what was loaded."""
    lake = governed.pipeline.lake
    contract = load_contract(contract_path("tpch"))
    for table, rows in TPCH_ROWS.items():
        aspects = governed.aspects[f"urn:li:dataset:(urn:li:dataPlatform:file,{lake}/raw/tpch/{table},PROD)"]
        properties = aspects["datasetProperties"]
        assert properties["name"] == f"tpch.{table}"
        inferred_from = Path(properties["customProperties"]["schema_inferred_from"])
        assert inferred_from.parent.parent == lake / "raw" / "tpch" / table and inferred_from.suffix == ".parquet"
        assert properties["customProperties"]["source_database"] == governed.database  # ours, merged in
        columns = [c.name for c in next(t for t in contract.tables if t.name == table).columns]
        assert [f["fieldPath"] for f in aspects["schemaMetadata"]["fields"]] == [*columns, DELETED, "batch"]
        assert aspects["datasetProfile"]["rowCount"] == rows
        assert aspects["container"]["container"].startswith("urn:li:container:")
        for field in aspects["schemaMetadata"]["fields"]:  # the policy's rule, on what the source read
            assert ("urn:li:tag:pii" in field_tags(field)) == looks_personal(field["fieldPath"]), field
    lines = governed.aspects[f"urn:li:dataset:(urn:li:dataPlatform:file,{lake}/lakehouse/fct_order_lines,PROD)"]
    assert lines["datasetProfile"]["rowCount"] == TPCH_ROWS["lineitem"]
    assert "order_month" in {f["fieldPath"] for f in lines["schemaMetadata"]["fields"]}
    assert lines["datasetProfile"]["columnCount"] == len(lines["schemaMetadata"]["fields"])
    folders = {p.name for p in (lake / "lakehouse").iterdir() if any(p.rglob("*.parquet"))}
    named = {
        urn.rsplit("/", 1)[-1].removesuffix(",PROD)")
        for urn, aspects in governed.aspects.items()
        if urn.startswith(f"urn:li:dataset:(urn:li:dataPlatform:file,{lake}/lakehouse/") and "schemaMetadata" in aspects
    }
    assert named == folders
    assert not [
        u for u in governed.aspects if u.startswith("urn:li:dataset:(urn:li:dataPlatform:file,") and ",/" not in u
    ]
    assert upstreams(
        governed.aspects, f"urn:li:dataset:(urn:li:dataPlatform:file,{lake}/lakehouse/fct_order_lines,PROD)"
    ) == ["urn:li:dataset:(urn:li:dataPlatform:spark,lakehouse_marts.fct_order_lines,PROD)"]


def test_policy_check_passes_on_the_project(governed: Governed) -> None:
    assert check_manifest_data(governed.manifest) == []


def test_policy_check_fails_on_a_model_without_owner_and_an_untagged_personal_column(
    governed: Governed, tmp_path: Path
) -> None:
    broken = copy.deepcopy(governed.manifest)
    nodes = broken["nodes"]
    del nodes["model.lakehouse.fct_orders"]["config"]["meta"]["owner"]
    nodes["model.lakehouse.fct_orders"]["meta"].pop("owner", None)
    phone = nodes["model.lakehouse.dim_customer"]["columns"]["customer_phone"]
    phone["config"]["meta"] = {}
    phone["meta"] = {}
    messages = [str(v) for v in check_manifest_data(broken)]
    assert messages == [
        "dim_customer.customer_phone: looks personal but has no tag: add config.meta.contains_pii: true "
        "(or meta.masking: <how> once it is masked or hashed)",
        "fct_orders: has no owner (config.meta.owner)",
    ]
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(broken))
    result = subprocess.run(
        [sys.executable, "-m", "governance", "check", "--manifest", str(path)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        env=governed.pipeline.env,
    )
    assert result.returncode == 1
    assert "fct_orders: has no owner" in result.stderr and "dim_customer.customer_phone" in result.stderr


def test_datahub_lite_lists_and_gets_entities_through_its_cli(governed: Governed) -> None:
    # `datahub lite init` needs an existing ~/.datahubenv; this is the file it would write.
    (governed.home / ".datahubenv").write_text(
        f"gms:\n  server: http://localhost:8080\nlite:\n  type: sqlite\n  config:\n    file: {governed.lite_file}\n"
    )

    def lite(*args: str) -> str:
        result = subprocess.run(
            [DATAHUB, "lite", *args], capture_output=True, text=True, env=governed.pipeline.env, timeout=120
        )
        assert result.returncode == 0, result.stderr[-2000:]
        return result.stdout

    urns = lite("list-urns").split()
    report = dbt_urn("lakehouse_reports.rpt_top_supplier")
    assert report in urns and "urn:li:dataFlow:(lakehouse,ingest_tpch,PROD)" in urns
    entity = json.loads(lite("get", "--urn", report))
    assert entity["ownership"]["owners"][0]["owner"] == "urn:li:corpGroup:analytics"
    lineage = json.loads(lite("get", "--urn", dbt_urn("raw_tpch.orders", "spark"), "--aspect", "upstreamLineage"))
    assert lineage["upstreamLineage"]["upstreams"][0]["dataset"].endswith("/raw/tpch/orders,PROD)")


def reachable(aspects: dict[str, dict[str, Any]], start: str) -> set[str]:
    seen, frontier = {start}, [start]
    while frontier:
        frontier = [u for urn in frontier for u in upstreams(aspects, urn) if u not in seen]
        seen |= set(frontier)
    return seen


def test_the_lineage_command_loads_lite_and_walks_a_report_back_to_its_csv_files(
    governed: Governed, tmp_path: Path
) -> None:
    lite_file = tmp_path / "lite" / "datahub.db"  # a fresh one: the command loads it itself
    shown = governed.pipeline.run(
        sys.executable, "-m", "governance", "lineage", "rpt_shipping_priority", "--lite-file", str(lite_file)
    )
    assert shown.returncode == 0, shown.stdout[-3000:] + shown.stderr[-3000:]
    from governance.browse import lineage

    hops = lineage(lite_file, "rpt_shipping_priority")
    start = dbt_urn("lakehouse_reports.rpt_shipping_priority")
    assert hops[0].urn == start and hops[0].depth == 0
    # What Lite answers is what the metadata file says, hop for hop.
    assert {hop.urn for hop in hops} == reachable(governed.aspects, start)
    csv_files = {hop.name.rsplit("/", 1)[-1] for hop in hops if hop.platform == "file" and hop.name.endswith(".csv")}
    assert csv_files >= {"customer.csv", "orders.csv", "lineitem.csv"}  # Q3's tables (and the dims' own)
    assert {"dbt", "spark", "file", "mysql"} <= {hop.platform for hop in hops}
    for name in csv_files:
        assert name in shown.stderr  # the command's closing line names the files


def test_the_rest_sink_adds_lineage_to_a_server_as_patches(governed: Governed, tmp_path: Path) -> None:
    """Against a server, lineage adds to what other sources wrote: every upstreamLineage goes as a
    JSON patch of its upstreams, and together they add exactly the edges the metadata file holds.
    The server is the local stand-in speaking DataHub's REST protocol to DataHub's own sink."""
    from governance.collector import collecting

    received = tmp_path / "gms.jsonl"
    with collecting(received) as url:
        env = {**governed.pipeline.env, "DATAHUB_GMS_URL": url}
        command = [sys.executable, "-m", "governance", "emit", "--sink", "rest"]
        command += ["--target-path", str(governed.pipeline.target)]
        sent = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert sent.returncode == 0, sent.stdout[-3000:] + sent.stderr[-3000:]
    proposals = [json.loads(line)["proposal"] for line in received.read_text().splitlines() if '"proposal"' in line]
    lineage = [p for p in proposals if p["aspectName"] == "upstreamLineage"]
    assert lineage and {p["changeType"] for p in lineage} == {"PATCH"}
    added = {
        (p["entityUrn"], op["value"]["dataset"])
        for p in lineage
        for op in json.loads(p["aspect"]["value"])
        if op["op"] == "add" and op["path"].startswith("/upstreams/")
    }
    held = {(urn, upstream) for urn in governed.aspects for upstream in upstreams(governed.aspects, urn)}
    assert added == held
    assert len(proposals) > len(lineage)  # the rest of the metadata went too, whole


def test_merging_upstream_lineage_keeps_every_upstream() -> None:
    urn = dbt_urn("raw_tpch.orders", "spark")
    ours = {"entityUrn": urn, "aspectName": "upstreamLineage", "aspect": {"json": {"upstreams": [{"dataset": "a"}]}}}
    theirs = {
        "proposedSnapshot": {
            "com.linkedin.pegasus2avro.metadata.snapshot.DatasetSnapshot": {
                "urn": urn,
                "aspects": [
                    {
                        "com.linkedin.pegasus2avro.dataset.UpstreamLineage": {
                            "upstreams": [{"dataset": "b"}, {"dataset": "a"}]
                        }
                    }
                ],
            }
        }
    }
    merged = merge_records([theirs, ours])
    assert len(merged) == 1
    assert upstreams(index(merged), urn) == ["b", "a"]


def test_masked_names_are_keyed_hmacs_and_the_key_is_in_no_artifact(governed: Governed) -> None:
    """Broad models carry HMAC-SHA256(key, name): recomputable only with the key, which appears in
    no dbt artifact, compiled SQL, log, docs page, lake file or DataHub record of the run."""
    key = os.environ["LAKEHOUSE_PSEUDONYM_KEY"]
    lake = governed.pipeline.lake / "lakehouse"
    with duckdb.connect() as con:
        pairs = con.execute(
            f"select c.customer_name, m.customer_name_pseudonym "
            f"from read_parquet('{lake}/dim_customer/*.parquet') as c "
            f"join read_parquet('{lake}/dim_customer_masked/*.parquet') as m using (customer_key)"
        ).fetchall()
    assert len(pairs) == TPCH_ROWS["customer"]
    assert all(p == hmac.new(bytes.fromhex(key), n.encode(), hashlib.sha256).hexdigest() for n, p in pairs)
    assert all(p != hashlib.sha256(n.encode()).hexdigest() for n, p in pairs)  # not enumerable without the key
    needles = (key.encode(), key.upper().encode())
    holders = [
        path
        for path in governed.pipeline.root.rglob("*")
        if path.is_file() and path.stat().st_size < 200 * 2**20 and any(n in path.read_bytes() for n in needles)
    ]
    assert holders == []
    assert "${spark.lakehouse.pseudonym.hmac_key}" in (governed.pipeline.target / "manifest.json").read_text()


def test_policy_check_fails_on_an_exposure_that_publishes_a_restricted_column(governed: Governed) -> None:
    manifest = copy.deepcopy(governed.manifest)
    [exposure] = [e for e in manifest["exposures"].values() if e["name"] == "business_report"]
    metas = [m for m in (exposure.get("meta"), (exposure.get("config") or {}).get("meta")) if m is not None]
    for meta in metas:
        meta["publishes"] = [*meta["publishes"], "dim_customer.customer_name"]
    violations = [str(v) for v in check_manifest_data(manifest)]
    assert violations == [
        "exposure business_report.customer_name: publishes dim_customer.customer_name, personal data, "
        "with access: broad; hide it or restrict the exposure"
    ]
    for meta in metas:
        meta["access"] = "restricted"  # a restricted page may show it
    assert check_manifest_data(manifest) == []
    for meta in metas:
        del meta["access"]
    assert any("needs config.meta.access" in str(v) for v in check_manifest_data(manifest))


def test_policy_check_refuses_a_broad_dashboard_that_reads_a_restricted_model(governed: Governed) -> None:
    """Superset's users can explore every column of a dashboard's datasets, so a broad dashboard
    there reads broad (masked) models only; a fixed page may read restricted ones and show less."""
    manifest = copy.deepcopy(governed.manifest)
    assert check_manifest_data(manifest) == []
    [exposure] = [e for e in manifest["exposures"].values() if e["name"] == "superset_tpch_business"]
    parents = exposure["depends_on"]["nodes"]
    parents[parents.index("model.lakehouse.sales_order_lines")] = "model.lakehouse.fct_order_lines"
    assert [str(v) for v in check_manifest_data(manifest)] == [
        "exposure superset_tpch_business: is explorable with access: broad but reads fct_order_lines, a model "
        "with access: restricted; read its broad (masked) model or restrict the exposure"
    ]
    metas = [m for m in (exposure.get("meta"), (exposure.get("config") or {}).get("meta")) if m is not None]
    for meta in metas:
        meta["access"] = "restricted"
    assert check_manifest_data(manifest) == []
