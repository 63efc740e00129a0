"""DataHub's `s3` source over a local lake that is not tidy: a root under a dot folder (`make`'s
`.local/lake`, which the source skips by default) with a space, capitals and an accent, a table whose
newest batch holds no row, a batch still being written (no manifest), the extract's staging folder,
Spark's marker files and an unfinished write, an empty model folder. Each raw table and model folder
with Parquet files is one dataset, named exactly as the lineage names it (`lake_urn`), and nothing
else is."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from governance.lake_profiles import lake_urn
from governance.lake_source import run_lake_source
from ingest.core.lake import parse_lake

ROWS = pa.table({"id": pa.array([1, 2], pa.int64()), "name": ["a", "b"], "_lh_deleted": [False, False]})


def write(path: Path, table: pa.Table) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)


def test_every_table_and_model_folder_is_one_dataset_named_as_the_lineage_names_it(tmp_path: Path) -> None:
    root = tmp_path / ".local" / "My Lakë"
    write(root / "raw/shop/orders/batch=20260101T000000000000Z-aaaaaa/part-00000.parquet", ROWS)
    (root / "raw/shop/orders/batch=20260101T000000000000Z-aaaaaa/manifest.json").write_text("{}")
    write(root / "raw/shop/orders/batch=20260102T000000000000Z-bbbbbb/part-00000.parquet", ROWS.slice(0, 0))
    write(root / "raw/shop/Customers/batch=20260103T000000000000Z-cccccc/part-00000.parquet", ROWS)  # no manifest yet
    write(root / "lakehouse/fct_orders/order_month=2026-01/part-00000-x.snappy.parquet", ROWS)
    (root / "lakehouse/fct_orders/_SUCCESS").write_text("")
    write(root / "lakehouse/dim_customer/part-00000-y.snappy.parquet", ROWS)
    (root / "lakehouse/dim_customer/.part-00000-y.snappy.parquet.crc").write_bytes(b"\0")
    (root / "lakehouse/empty_model").mkdir()
    write(root / "lakehouse/fct_orders/_temporary/0/_temporary/attempt_0/part-00001-z.snappy.parquet", ROWS)
    write(root / "_staging/shop/orders/batch=20260104T000000000000Z-dddddd/part-00000.parquet", ROWS)

    lake = parse_lake(f"file://{root}")
    records = run_lake_source(lake, tmp_path / "out.json")

    keys = ["raw/shop/orders", "raw/shop/Customers", "lakehouse/fct_orders", "lakehouse/dim_customer"]
    datasets = {r["entityUrn"] for r in records if r["entityUrn"].startswith("urn:li:dataset:")}
    assert datasets == {lake_urn(lake, key) for key in keys}
    schemas = {r["entityUrn"]: r["aspect"]["json"] for r in records if r.get("aspectName") == "schemaMetadata"}
    for key in keys:
        assert [f["fieldPath"] for f in schemas[lake_urn(lake, key)]["fields"]] == ROWS.column_names, key
