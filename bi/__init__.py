"""Business dashboards in Apache Superset on the lakehouse's Spark Thrift server.

- `bi.bundle`: Superset's import/export format written from a dashboard's spec (stable UUIDs).
- `bi.tpch`: the TPC-H business dashboard's spec; its export is bi/dashboards/tpch/.
- `bi.lake_tables`: the dbt models' Parquet folders as tables of the Thrift server.
- `bi.superset`: Superset in .venv-bi: set-up, import, server, REST API.
- `bi.cli`: `python -m bi serve` (`make bi`) and `python -m bi export`.
"""
