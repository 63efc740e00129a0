{% macro show_lake(given=none) -%}
  {#-
    Where dbt finds the lake: `dbt run-operation show_lake`. With `--args '{given: [...]}'`, the
    location each value resolves to, as JSON (the test that holds this rule to Python's uses it).
  -#}
  {%- if given is none -%}
    {{ print(lake_root()) }}
  {%- else -%}
    {%- set resolved = [] -%}
    {%- for value in given -%}{%- do resolved.append(lake_location(value)) -%}{%- endfor -%}
    {{ print(tojson(resolved)) }}
  {%- endif -%}
{%- endmacro %}
