{#
  The lake's raw zone as dbt sources.

  The extractor (`python -m ingest extract`) writes each table as hive-style batch folders:
    <lake>/raw/<dataset>/<table>/batch=<id>/part-*.parquet   the rows
    <lake>/raw/<dataset>/<table>/batch=<id>/manifest.json    written last: the batch is committed
  `register_lake_sources` (on-run-start) declares, for every source whose `meta.lake_dataset` is
  set, an external Parquet table over the table's folder and a JSON table over its manifests.
  `committed_rows` then reads only what a reader may see: the latest committed `full` batch and
  the committed `incremental` batches after it, keeping the newest version of each key.
#}

{% macro lake_table_uri(dataset, table) -%}
  {{ var('lake_uri') }}/raw/{{ dataset }}/{{ table }}
{%- endmacro %}

{% macro manifests_relation(relation) -%}
  {{ relation.schema }}.{{ relation.identifier }}__manifests
{%- endmacro %}

{% macro register_lake_sources() %}
  {% if execute %}
    {% for node in graph.sources.values() if node.source_meta.get('lake_dataset') %}
      {% set relation = source(node.source_name, node.name) %}
      {% set uri = lake_table_uri(node.source_meta['lake_dataset'], node.identifier) %}
      {% do adapter.execute("create database if not exists " ~ relation.schema) %}
      {# Re-declared on every run: cheap, and the tables always point at the current lake. #}
      {% do adapter.execute("drop table if exists " ~ relation) %}
      {% do adapter.execute(
          "create table " ~ relation ~ " using parquet options (path '" ~ uri ~ "', pathGlobFilter '*.parquet')"
      ) %}
      {% do adapter.execute("drop table if exists " ~ manifests_relation(relation)) %}
      {% do adapter.execute(
          "create table " ~ manifests_relation(relation) ~ " using json options (path '" ~ uri
          ~ "', pathGlobFilter 'manifest.json')"
      ) %}
    {% endfor %}
  {% endif %}
{% endmacro %}

{% macro current_batches(relation) %}
  {#- The batch ids a reader sees now, oldest first. -#}
  {% set batches = [] %}
  {% if execute %}
    {% set manifests = run_query("select batch, mode from " ~ manifests_relation(relation) ~ " order by batch") %}
    {% for row in manifests.rows %}
      {% if row['mode'] == 'full' %}{% do batches.clear() %}{% endif %}
      {% do batches.append(row['batch']) %}
    {% endfor %}
  {% endif %}
  {{ return(batches) }}
{% endmacro %}

{% macro committed_rows(source_name, table_name, unique_key) %}
  {%- set relation = source(source_name, table_name) -%}
  {%- set batches = current_batches(relation) -%}
  {%- set keys = unique_key if unique_key is not string else [unique_key] -%}
  {%- if batches | length > 1 -%}
  select * from (
      select
          *,
          row_number() over (partition by {{ keys | join(', ') }} order by batch desc) as _version_rank
      from {{ relation }}
      where batch in ('{{ batches | join("', '") }}')
  ) where _version_rank = 1
  {%- elif batches | length == 1 -%}
  select * from {{ relation }} where batch = '{{ batches[0] }}'
  {%- else -%}
  select * from {{ relation }} where false  -- no committed batch yet
  {%- endif -%}
{% endmacro %}
