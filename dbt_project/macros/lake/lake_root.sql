{#
  Where the lake is, by the rule `ingest.core.lake.resolve_lake_uri` applies in Python (a test holds the
  two to the same answer): the `lake_uri` var, else LAKEHOUSE_LAKE_URI, else
  <LAKEHOUSE_LOCAL_DIR or .local>/lake. Accepted: gs://BUCKET/PREFIX, file:///absolute/path
  (percent-encoded) or a plain path, relative to the folder dbt runs in (the repository root).
  The result is what Spark wants: gs://bucket/prefix, or file:// and the plain absolute path.
#}

{% macro lake_root() -%}
  {%- set given = var('lake_uri', '') or env_var('LAKEHOUSE_LAKE_URI', '') -%}
  {%- if not given -%}
    {%- set given = env_var('LAKEHOUSE_LOCAL_DIR', '.local') ~ '/lake' -%}
  {%- endif -%}
  {{- return(lake_location(given)) -}}
{%- endmacro %}
