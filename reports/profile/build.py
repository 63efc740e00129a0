"""`build_profile`: a dataset's raw zone in, one page out (`<lake>/reports/profile-<dataset>.html`)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ingest.core.contract import Contract
from ingest.core.lake import parse_lake
from ingest.core.settings import local_dir
from reports.business.publish import upload_report, write_atomically
from reports.business.settings import ReportError
from reports.profile.page import ProfilePage, render_html
from reports.profile.profile import profile_dataset
from reports.spark import session


def page_name(dataset: str) -> str:
    return f"profile-{dataset}.html"


def build_profile(contract: Contract, lake_uri: str, out_dir: Path | None = None) -> Path:
    """Profile every table of `contract` the lake holds and return the local path of the page:
    `<lake>/reports/` for a local lake, else `<LAKEHOUSE_LOCAL_DIR>/reports/` (or `out_dir`) and
    uploaded to `<lake>/reports/`."""
    lake_uri = parse_lake(lake_uri).uri
    started = time.monotonic()
    spark, owned = session(f"lakehouse-profile-{contract.dataset}")
    try:
        tables = profile_dataset(spark, lake_uri, contract)
        if not tables:
            raise ReportError(
                f"{lake_uri}/raw/{contract.dataset}/ holds no committed batch of any table: run the extract first"
            )
        page = ProfilePage(
            contract.dataset,
            contract.description or "",
            lake_uri,
            datetime.now(UTC),
            time.monotonic() - started,
            tables,
        )
        text = render_html(page)
        if out_dir is None and lake_uri.startswith("file://"):
            out_dir = Path(unquote(urlsplit(lake_uri).path)) / "reports"
        remote = out_dir is None
        path = (out_dir if out_dir is not None else local_dir() / "reports") / page_name(contract.dataset)
        write_atomically(path, text)
        if remote:
            upload_report(lake_uri, [path], spark)
        return path
    finally:
        if owned:
            spark.stop()
