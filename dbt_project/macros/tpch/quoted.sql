{#- Any text as a quoted SQL string literal, escaped: how parameters reach SQL text. -#}
{% macro quoted(text) -%}
  {{ return(dbt.string_literal(dbt.escape_single_quotes(text | string))) }}
{%- endmacro %}
