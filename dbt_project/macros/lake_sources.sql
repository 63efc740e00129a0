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

{% macro manifests_relation(relation) -%}
  {{ relation.schema }}.{{ relation.identifier }}__manifests
{%- endmacro %}

{% macro register_lake_sources() %}
  {% if execute %}
    {% for node in graph.sources.values() if node.source_meta.get('lake_dataset') %}
      {% set relation = source(node.source_name, node.name) %}
      {% set uri = lake_table_uri(node.source_meta['lake_dataset'], node.identifier) %}
      {% do adapter.execute("create database if not exists " ~ relation.schema) %}
      {# Re-declared on every run: cheap, and the tables always point at the current lake. The
         manifests' schema is declared: with no manifest at all, the rows' query must fail with
         its own message ("no committed batch"), not with Spark's "unable to infer schema". #}
      {% do adapter.execute("drop table if exists " ~ relation) %}
      {% do adapter.execute(
          "create table " ~ relation ~ " using parquet options (path '" ~ uri
          ~ "', pathGlobFilter '*.parquet', mergeSchema 'true')"
      ) %}
      {% do adapter.execute("drop table if exists " ~ manifests_relation(relation)) %}
      {% do adapter.execute(
          "create table " ~ manifests_relation(relation)
          ~ " (mode string, committed_at string, rows bigint, deleted bigint, batch string)"
          ~ " using json options (path '" ~ uri ~ "', pathGlobFilter 'manifest.json')"
      ) %}
    {% endfor %}
  {% endif %}
{% endmacro %}

{% macro committed_rows(source_name, table_name, unique_key) %}
  {#-
    The rows a reader may see, resolved when the query runs (never at compile time, so a view
    never pins a batch that retention later removes): the latest committed full batch and the
    committed incremental batches after it; per key the newest version (in one batch a row beats
    a tombstone); minus tombstones. `ingest.batches.read_current` applies the same rule.
    No committed full batch is an error, not an empty table.
  -#}
  {%- set relation = source(source_name, table_name) -%}
  {%- set manifests = manifests_relation(relation) -%}
  {%- set keys = unique_key if unique_key is not string else [unique_key] -%}
  {%- set missing = "no committed batch of " ~ relation ~ " in the lake: run the extract first" -%}
  select * from (
      select
          data.*,
          row_number() over (
              partition by {{ keys | join(', ') }}
              order by data.batch desc, coalesce(data._lh_deleted, false) asc
          ) as _version_rank
      from {{ relation }} as data
      -- Scalar subqueries over the manifests (one row even when there is none), not joins: the
      -- optimizer may drop a join with an empty side, and with it the error.
      where
          data.batch >= (
              select coalesce(max(case when mode = 'full' then batch end), raise_error('{{ missing }}'))
              from {{ manifests }}
          )
          and array_contains((select collect_set(batch) from {{ manifests }}), data.batch)
  ) as versions
  where _version_rank = 1 and not coalesce(_lh_deleted, false)
{% endmacro %}
