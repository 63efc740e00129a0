"""The lakehouse's ingest: CSV files -> MySQL -> the lake's raw zone."""
