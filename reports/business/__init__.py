"""The business report: the lakehouse marts turned into one self-contained HTML page of charts.

Reads the star schema's Parquet folders straight from the lake (`<lake>/lakehouse/<model>/`, no
metastore), aggregates in Spark, draws the small results with matplotlib and writes one HTML page
whose charts are embedded PNG images (no external URL, so it opens from a bucket, a mail or a disk):

- net revenue by quarter and orders by month, by customer region,
- net revenue by market segment and year, the top customers,
- late deliveries (received after the supplier's commit date) by ship mode,
- supplier performance by supplier nation and the top suppliers,
- the returned share of order lines by quarter and region.

The page goes to `<lake>/reports/business-report-<UTC timestamp>.html` and is copied to
`<lake>/reports/latest.html`; each file is written under a temporary name and renamed, so a reader
never sees half a page. For a `gs://` lake the page is written locally and uploaded (the
manifest-last upload of `ingest.core.lake`, with checksums), `latest.html` last.

Modules: `queries` (the questions in Spark SQL), `spark` (the session, the marts as views),
`charts` (matplotlib), `page` (the HTML), `publish` (disk and bucket), `report` (`build_report`),
`cli` (`lakehouse-report`), `dataproc_job` (the cluster's entry point), `archive` (what a cluster gets).
"""

from reports.business.publish import upload_report
from reports.business.report import build_report
from reports.business.settings import MARTS, ReportError

__all__ = ["MARTS", "ReportError", "build_report", "upload_report"]
