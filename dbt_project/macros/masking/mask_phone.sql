{% macro mask_phone(column) -%}
    {#- 'XX-XXX-XXX-' and the last four digits: enough to confirm a number with its owner, no more. -#}
    concat('XX-XXX-XXX-', right({{ column }}, 4))
{%- endmacro %}
