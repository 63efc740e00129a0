{#
  What an incremental model built from the lake has seen, and when it must be built in full.

  `remember_lake_batches` (post-hook) stores, in the table's properties, the newest batch of each
  raw table the model reads (`meta.lake_sources`) whose manifest appeared before this dbt
  invocation started: the build certainly read it. A batch that appears while dbt runs is taken
  again next time (safe: months are overwritten whole), never skipped. (The storage's clock, which
  stamps the manifest file, and dbt's are compared.)

  `guard_incremental_models` (on run start, for `dbt run` and `dbt build`) drops a selected
  incremental model's table, so that it is built in full, when
  - its location is not under the configured lake (LAKEHOUSE_LAKE_URI moved, the metastore did not), or
  - one of its raw tables has a full snapshot it has not seen (what changed is then unknown), or
  - it has no record of what it saw.
  The table is external: dropping it removes the metastore entry only; the build rewrites the files.
#}

{% macro newest_lake_batches(sources, committed_before=none) %}
  {% set newest = {} %}
  {% for name in sources %}
    {% set source_name, table_name = name.split('.') %}
    {#- When its manifest file appeared (the batch became visible), not the manifest's own
        committed_at, which is stamped before a GCS upload ends. -#}
    {% set before = "" if committed_before is none else
        " where _metadata.file_modification_time < timestamp '"
        ~ committed_before.strftime('%Y-%m-%d %H:%M:%S.%f') ~ "'" %}
    {% set rows = run_query(
        "select max(batch) as batch, max(case when mode = 'full' then batch end) as full_batch from "
        ~ manifests_relation(source(source_name, table_name)) ~ before
    ) %}
    {% do newest.update({name: {'batch': rows.rows[0]['batch'] or '', 'full': rows.rows[0]['full_batch'] or ''}}) %}
  {% endfor %}
  {{ return(newest) }}
{% endmacro %}
