{#
  The lake's raw zone as dbt sources.

  The extractor (`python -m ingest extract`) writes each table as hive-style batch folders:
    <lake>/raw/<dataset>/<table>/batch=<id>/part-*.parquet   the rows
    <lake>/raw/<dataset>/<table>/batch=<id>/manifest.json    written last: the batch is committed
  `register_lake_sources` (on-run-start) declares, for every source whose `meta.lake_dataset` is
  set, an external Parquet table over the table's folder and a JSON table over its manifests.
  `committed_rows` then reads only what a reader may see (its comment gives the rule).
#}

{% macro lake_table_uri(dataset, table) -%}
  {{ lake_root() }}/raw/{{ dataset }}/{{ table }}
{%- endmacro %}
