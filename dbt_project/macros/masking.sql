{#- Masking for models meant for broad access (models/marts/broad/). The policy check in
    governance/policy.py requires a personal-looking column of a broad model to carry meta `masking`. -#}

{% macro pseudonymize(column) -%}
    {#- SHA-256 of the value: a stable join key that does not show the value. Unsalted, so values drawn
        from a small known set (TPC-H's Customer#000000001 ...) can be re-identified by enumeration. -#}
    sha2(cast({{ column }} as string), 256)
{%- endmacro %}

{% macro mask_phone(column) -%}
    {#- 'XX-XXX-XXX-' and the last four digits: enough to confirm a number with its owner, no more. -#}
    concat('XX-XXX-XXX-', right({{ column }}, 4))
{%- endmacro %}
