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
