{% macro seen_lake_batches(relation) %}
  {% set seen = {} %}
  {% if execute %}
    {% for row in run_query("show tblproperties " ~ relation).rows %}
      {% if row[0] == 'lakehouse.seen_batches' %}{% do seen.update(fromjson(row[1])) %}{% endif %}
    {% endfor %}
  {% endif %}
  {{ return(seen) }}
{% endmacro %}
