{% macro register_lake_sources() %}
  {#-
    Only the sources the command needs: those its selected nodes read (or selected themselves, as
    `dbt source freshness` does), so `dbt build --select tag:nycflights13` never touches TPC-H.
    A source with no committed batch yet gets an empty table of its declared columns: Spark cannot
    infer a Parquet schema from no file, and a model over it must fail with `committed_rows`'s own
    message ("no committed batch ... run the extract first"), not at registration.
  -#}
  {% if execute %}
    {% set wanted = [] %}
    {% for unique_id in selected_resources %}
      {% if unique_id.startswith('source.') %}
        {% do wanted.append(unique_id) %}
      {% endif %}
      {% for parent in (graph.nodes.get(unique_id) or {}).get('depends_on', {}).get('nodes', []) %}
        {% do wanted.append(parent) %}
      {% endfor %}
    {% endfor %}
    {% for node in graph.sources.values() if node.source_meta.get('lake_dataset') and node.unique_id in wanted %}
      {% set relation = source(node.source_name, node.name) %}
      {% set uri = lake_table_uri(node.source_meta['lake_dataset'], node.identifier) %}
      {% set manifests = manifests_relation(relation) %}
      {% do adapter.execute("create database if not exists " ~ relation.schema) %}
      {# Re-declared on every run: cheap, and the tables always point at the current lake. The
         manifests' schema is declared, so their table exists even before the first extract. #}
      {% do adapter.execute("drop table if exists " ~ manifests) %}
      {% do adapter.execute(
          "create table " ~ manifests
          ~ " (mode string, committed_at string, rows bigint, deleted bigint, columns array<struct<name: string>>,"
          ~ " batch string)"
          ~ " using json options (path '" ~ uri ~ "', pathGlobFilter 'manifest.json')"
      ) %}
      {% do adapter.execute("drop table if exists " ~ relation) %}
      {% if run_query("select count(*) from " ~ manifests).columns[0].values()[0] > 0 %}
        {% do adapter.execute(
            "create table " ~ relation ~ " using parquet options (path '" ~ uri
            ~ "', pathGlobFilter '*.parquet', mergeSchema 'true')"
        ) %}
      {% else %}
        {% set columns = [] %}
        {% for column in node.columns.values() if column.name not in ('batch', '_lh_deleted') %}
          {% do columns.append(column.name ~ " " ~ (column.data_type or "string")) %}
        {% endfor %}
        {% do adapter.execute(
            "create table " ~ relation ~ " (" ~ (columns + ["_lh_deleted boolean", "batch string"]) | join(", ")
            ~ ") using parquet options (path '" ~ uri ~ "', pathGlobFilter '*.parquet')"
        ) %}
      {% endif %}
    {% endfor %}
  {% endif %}
{% endmacro %}
