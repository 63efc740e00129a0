{% macro order_lines_month_emptied(relation) %}
  {#- True when a month the table holds, of an order that changed, has no line left. -#}
  {% set seen = seen_lake_batches(relation) %}
  {% set query %}
    with changed as ({{ changed_order_keys(seen) }}),
    touched as (
        select distinct order_month from {{ relation }}
        where order_key in (select changed.order_key from changed)
    )
    select touched.order_month from touched
    where not exists (
        select 1
        from {{ ref('stg_tpch__orders') }} as orders
        inner join {{ ref('stg_tpch__lineitem') }} as lines on lines.order_key = orders.order_key
        where cast(trunc(orders.order_date, 'MM') as date) = touched.order_month
    )
    limit 1
  {% endset %}
  {{ return(run_query(query).rows | length > 0) }}
{% endmacro %}
