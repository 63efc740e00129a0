{% macro committed_rows(source_name, table_name, unique_key) %}
  {#-
    The rows a reader may see, resolved when the query runs (never at compile time, so a view
    never pins a batch that retention later removes): the latest committed full batch and the
    committed incremental batches after it; per key the newest version (in one batch a row beats
    a tombstone); minus tombstones. `ingest.extract.batches.read_current` applies the same rule.
    No committed full batch is an error, not an empty table.
    The columns are the newest committed manifest's (`current_columns`): a column an older batch
    still holds (dropped or renamed since) is not one of the table's.
  -#}
  {%- set relation = source(source_name, table_name) -%}
  {%- set manifests = manifests_relation(relation) -%}
  {%- set keys = unique_key if unique_key is not string else [unique_key] -%}
  {%- set missing = "no committed batch of " ~ relation ~ " in the lake: run the extract first" -%}
  {%- set columns = current_columns(relation.schema, relation.identifier ~ "__manifests") -%}
  {#- Before any batch, or at parse time: every column (the query fails with `missing` anyway). -#}
  {%- set listed = ("`" ~ columns | join("`, `") ~ "`, _lh_deleted, batch") if columns else "*" -%}
  {%- if not keys %}
  {#- No key: every extract of the table is a full snapshot (the extractor's rule), so its rows
      are the newest full batch's, duplicates included; there is no version to choose. -#}
  select {{ listed }} from {{ relation }} as data
  where
      data.batch = (
          select coalesce(max(case when mode = 'full' then batch end), raise_error('{{ missing }}'))
          from {{ manifests }}
      )
      and not coalesce(data._lh_deleted, false)
  {%- else %}
  select {{ listed }} from (
      select
          data.*,
          row_number() over (
              partition by {% for key in keys %}`{{ key }}`{{ ", " if not loop.last }}{% endfor %}
              order by data.batch desc, coalesce(data._lh_deleted, false) asc
          ) as _lh_version_rank
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
  where _lh_version_rank = 1 and not coalesce(_lh_deleted, false)
  {%- endif %}
{% endmacro %}

{% macro current_columns(schema, identifier) %}
  {#- The newest committed batch's columns, in order: none at parse time, or before the table's
      first extract (its manifests table is not registered then; compiling every model, as
      `dbt docs generate` does, must not fail on a dataset never extracted). -#}
  {%- if not execute -%}{{ return([]) }}{%- endif -%}
  {%- if adapter.get_relation(database=none, schema=schema, identifier=identifier) is none -%}{{ return([]) }}{%- endif -%}
  {%- set manifests = schema ~ "." ~ identifier -%}
  {%- set found = run_query(
      "select c.name from (select posexplode(columns) as (position, c) from " ~ manifests
      ~ " where batch = (select max(batch) from " ~ manifests ~ ")) order by position"
  ) -%}
  {{ return(found.columns[0].values() | list if found else []) }}
{% endmacro %}
