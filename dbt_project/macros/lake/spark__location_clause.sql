{% macro spark__location_clause() -%}
  {#- Every table lives in the configured lake, under lakehouse/<model>, resolved when dbt runs. -#}
  {%- set location_root = config.get('location_root', validator=validation.any[basestring]) -%}
  location '{{ location_root or (lake_root() ~ "/lakehouse") }}/{{ model["alias"] }}'
{%- endmacro %}
