{% macro remember_lake_batches(relation, sources) %}
  {% if execute %}
    {% set seen = {} %}
    {% for name, batches in newest_lake_batches(sources, run_started_at).items() %}
      {% do seen.update({name: batches['batch']}) %}
    {% endfor %}
    alter table {{ relation }} set tblproperties ('lakehouse.seen_batches' = '{{ tojson(seen) }}')
  {% endif %}
{% endmacro %}
