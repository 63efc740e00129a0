"""`build_report`: the marts of a lake in, one page out."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ingest.core.lake import parse_lake
from ingest.core.settings import local_dir
from reports.business import spark as sparks
from reports.business.charts import charts
from reports.business.page import Report, render_html
from reports.business.publish import upload_report, write_atomically
from reports.business.queries import QUERIES, collect, show_restricted_setting
from reports.business.settings import ReportError
from reports.spark import session


def build_report(lake_uri: str, out_dir: Path | None = None, show_restricted: bool | None = None) -> Path:
    """Read the marts of `lake_uri`, write the report, and return the local path of the page.

    The page is `<out_dir>/business-report-<UTC timestamp>.html` plus `<out_dir>/latest.html`.
    `out_dir` defaults to `<lake>/reports` for a local lake; for a `gs://` lake the page is written to
    `<LAKEHOUSE_LOCAL_DIR>/reports/` (or `out_dir`) and uploaded to `<lake>/reports/`.
    """
    lake_uri = parse_lake(lake_uri).uri
    started = time.monotonic()
    generated_at = datetime.now(UTC)
    spark, owned = session("lakehouse-business-report")
    try:
        sparks.register_marts(spark, lake_uri)
        if show_restricted is None:
            show_restricted = show_restricted_setting()
        data = {name: collect(spark, name, show_restricted) for name in QUERIES}
        overview = data["overview"][0]
        if not overview["orders"]:
            raise ReportError(f"the marts in {lake_uri}/lakehouse/ hold no orders: nothing to report")
        report = Report(lake_uri, generated_at, 0.0, overview, charts(data), show_restricted)
        report.seconds = time.monotonic() - started
        page = render_html(report)

        if out_dir is None:
            out_dir = Path(unquote(urlsplit(lake_uri).path)) / "reports" if lake_uri.startswith("file://") else None
        remote = out_dir is None
        folder = out_dir if out_dir is not None else local_dir() / "reports"
        dated = folder / f"business-report-{generated_at.strftime('%Y%m%dT%H%M%SZ')}.html"
        latest = folder / "latest.html"
        write_atomically(dated, page)
        write_atomically(latest, page)
        if remote:
            upload_report(lake_uri, [dated, latest], spark)
        return dated
    finally:
        if owned:
            spark.stop()
