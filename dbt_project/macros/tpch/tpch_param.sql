{#- The TPC-H reports take their substitution parameters from var('tpch') (dbt_project.yml); every
    one reaches SQL through this macro, escaped and quoted, never pasted into the text. -#}
{% macro tpch_param(name, prefix='', suffix='') -%}
  {{ return(quoted(prefix ~ (var('tpch')[name] | string) ~ suffix)) }}
{%- endmacro %}
