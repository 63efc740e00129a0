"""`python -m orchestration.summary`: where a pipeline run left its results (printed by `make demo`)."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from ingest.core.mysql import connect, quote_identifier
from ingest.core.settings import MySQLSettings
from orchestration.config import lake_uri, pipeline_dag_id


def main(dataset: str = "tpch") -> None:
    console = Console()
    lake = lake_uri()
    table = Table(title=f"{pipeline_dag_id(dataset)}: where the results are", show_lines=False)
    table.add_column("what")
    table.add_column("where", overflow="fold")
    conn = connect(MySQLSettings.from_env())
    with conn.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = %s", (dataset,))
        row = cursor.fetchone()
    conn.close()
    tables = row[0] if row else 0
    table.add_row("MySQL", f"database {quote_identifier(dataset)} ({tables} tables) at {MySQLSettings.from_env()}")
    table.add_row("raw zone", f"{lake}/raw/{dataset}/<table>/batch=<id>/")
    table.add_row("marts and reports", f"{lake}/lakehouse/<model>/ (Parquet)")
    if lake.startswith("file://"):
        root = Path(lake.removeprefix("file://"))
        models = sorted(p.name for p in (root / "lakehouse").glob("*") if p.is_dir())
        table.add_row("tables built", f"{len(models)}: " + ", ".join(models[:6]) + (" ..." if len(models) > 6 else ""))
        for label, path in (
            ("data profile", root / "reports" / f"profile-{dataset}.html"),
            ("business report", root / "reports" / "latest.html" if dataset == "tpch" else root / "none"),
            ("docs site (serve: python -m reports.docs_site serve)", root / "docs" / "index.html"),
            ("governance metadata", root / "governance" / "metadata.json"),
        ):
            if path.exists():
                table.add_row(label, str(path))
    console.print(table)


if __name__ == "__main__":
    main()
