"""The lakehouse's ingest: CSV files -> MySQL -> the lake's raw zone.

The core every hop shares: `contract` (dataset contracts), `settings` (MySQL settings, the local
state folder), `mysql` (connections, identifiers), `lake` (lake URIs, listing, uploads), `errors`
(`DataError`, never retried; `TransientError`, retried), `infer` (a contract from CSV files) and
`scaffold` (a dataset's dbt layer from its contract). The hops are sub-packages: `ingest.load`
(CSV -> MySQL), `ingest.extract` (MySQL -> the lake), and the command, `ingest.cli`.

Imported names are kept out of this file on purpose: the DAG processor and the Dataproc job import
`ingest.<module>` directly, and neither should pay for modules it does not use.
"""
