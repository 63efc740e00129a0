"""What the lakehouse shows people: the PySpark business report and the published dbt docs site.

- `reports.business_report`: reads the marts from the lake and writes one self-contained HTML page
  to `<lake>/reports/` (`python -m reports.business_report --help`).
- `reports.docs_site`: publishes `dbt docs generate` output to `<lake>/docs/` and serves it locally
  (`python -m reports.docs_site --help`).
"""
