{#
  fct_order_lines' incremental bookkeeping: which orders changed since the last build, and whether
  a month lost every line (insert_overwrite rewrites only months that still have rows, so such a
  month would keep its old lines: the model is then built in full instead).
#}

{% macro changed_order_keys(seen) %}
    -- Raw rows (tombstones included) of batches committed after the last build.
    select o_orderkey as order_key
    from {{ source('tpch', 'orders') }}
    where batch > '{{ seen.get("tpch.orders", "") }}'
    union
    select l_orderkey as order_key
    from {{ source('tpch', 'lineitem') }}
    where batch > '{{ seen.get("tpch.lineitem", "") }}'
{% endmacro %}
