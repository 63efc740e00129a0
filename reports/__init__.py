"""What the lakehouse shows people: the PySpark business report and the published dbt docs site.

- `reports.business`: reads the marts from the lake and writes one self-contained HTML page
  to `<lake>/reports/` (`lakehouse-report --help`).
- `reports.docs_site`: publishes `dbt docs generate` output to `<lake>/docs/` and serves it locally
  (`lakehouse-docs --help`).
"""
