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

{% macro remember_lake_batches(relation, sources) %}
  {% if execute %}
    {% set seen = {} %}
    {% for name, batches in newest_lake_batches(sources, run_started_at).items() %}
      {% do seen.update({name: batches['batch']}) %}
    {% endfor %}
    alter table {{ relation }} set tblproperties ('lakehouse.seen_batches' = '{{ tojson(seen) }}')
  {% endif %}
{% endmacro %}

{% macro seen_lake_batches(relation) %}
  {% set seen = {} %}
  {% if execute %}
    {% for row in run_query("show tblproperties " ~ relation).rows %}
      {% if row[0] == 'lakehouse.seen_batches' %}{% do seen.update(fromjson(row[1])) %}{% endif %}
    {% endfor %}
  {% endif %}
  {{ return(seen) }}
{% endmacro %}

{% macro table_location(relation) %}
  {#- Spark writes file:/path; the lake is written file:///path. -#}
  {% for row in run_query("describe table extended " ~ relation).rows %}
    {% if row[0] == 'Location' %}
      {% set location = row[1] %}
      {{ return('file:///' ~ location[6:].lstrip('/') if location.startswith('file:/') else location) }}
    {% endif %}
  {% endfor %}
  {{ return('') }}
{% endmacro %}

{% macro stale_reason(relation, node) %}
  {% set home = lake_root() ~ '/lakehouse/' %}
  {% set location = table_location(relation) %}
  {% if not location.startswith(home) %}
    {{ return('its location ' ~ location ~ ' is not under the configured lake ' ~ lake_root()) }}
  {% endif %}
  {% set sources = node.config.meta.get('lake_sources', []) %}
  {% set seen = seen_lake_batches(relation) %}
  {% if sources and not seen %}
    {{ return('it holds no record of the raw batches it was built from') }}
  {% endif %}
  {% for name, batches in newest_lake_batches(sources).items() %}
    {% if batches['full'] > seen.get(name, '') %}
      {{ return(name ~ ' has a full snapshot (' ~ batches['full'] ~ ') the table has not seen') }}
    {% endif %}
  {% endfor %}
  {{ return('') }}
{% endmacro %}

{% macro guard_incremental_models() %}
  {% if execute and flags.WHICH in ('run', 'build') %}
    {% for node in graph.nodes.values()
        if node.resource_type == 'model' and node.config.materialized == 'incremental'
        and node.unique_id in selected_resources %}
      {% set relation = adapter.get_relation(node.database, node.schema, node.alias) %}
      {% if relation is not none and not flags.FULL_REFRESH %}
        {% set reason = stale_reason(relation, node) %}
        {% if reason %}
          {{ log("lakehouse: " ~ node.name ~ " is built in full: " ~ reason, info=true) }}
          {% do adapter.drop_relation(relation) %}
        {% endif %}
      {% endif %}
    {% endfor %}
  {% endif %}
{% endmacro %}

{% macro replace_whole_table_when_built_in_full() %}
  {#- Pre-hook of a partitioned incremental model. dbt-spark sets dynamic partition overwrite for
      insert_overwrite models, also before a full build; a full build (first, --full-refresh, or
      after `guard_incremental_models` dropped the table) into a location that holds files would
      then replace only the partitions it writes and keep the others, stale. Static mode makes it
      replace the whole location. -#}
  {% if not is_incremental() %}set spark.sql.sources.partitionOverwriteMode = STATIC{% endif %}
{% endmacro %}
