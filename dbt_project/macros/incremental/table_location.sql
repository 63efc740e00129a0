{% macro table_location(relation) %}
  {#- Spark writes file:/path; the lake is written file:///path. -#}
  {% for row in run_query("describe table extended " ~ relation).rows %}
    {% if row[0] == 'Location' %}
      {% set location = row[1] %}
      {{ return('file:///' ~ location[6:].lstrip('/') if location.startswith('file:/') else location) }}
    {% endif %}
  {% endfor %}
  {{ return('') }}
{% endmacro %}
