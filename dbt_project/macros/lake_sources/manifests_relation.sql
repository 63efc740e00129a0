{% macro manifests_relation(relation) -%}
  {{ relation.schema }}.{{ relation.identifier }}__manifests
{%- endmacro %}
