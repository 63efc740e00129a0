{#
  dbt's run_query, safe for DDL over Thrift.

  run_query always fetches a result; over Spark's Thrift server (PyHive) a DDL statement has none,
  and the fetch fails with "'NoneType' object is not iterable" (dbt-labs/dbt-adapters#481). dbt's
  own unit-test materialization creates its temporary view with run_query, so unit tests fail on
  the thrift target without this. Statements that return no rows are executed without a fetch.
#}

{% macro run_query(sql) %}
  {% set returns_nothing = modules.re.match(
      '(?is)^\\s*(/\\*.*?\\*/\\s*)*(create|drop|alter|insert|refresh|msck|set|use|truncate|cache|uncache)\\b', sql
  ) %}
  {% if returns_nothing %}
    {% do adapter.execute(sql, auto_begin=false, fetch=false) %}
    {{ return(none) }}
  {% endif %}
  {% call statement("run_query_statement", fetch_result=true, auto_begin=false) %}
    {{ sql }}
  {% endcall %}
  {{ return(load_result("run_query_statement").table) }}
{% endmacro %}
