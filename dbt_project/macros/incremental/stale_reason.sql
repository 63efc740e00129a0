{% macro stale_reason(relation, node) %}
  {% set home = lake_root() ~ '/lakehouse/' %}
  {% set location = table_location(relation) %}
  {% if not location.startswith(home) %}
    {{ return('its location ' ~ location ~ ' is not under the configured lake ' ~ lake_root()) }}
  {% endif %}
  {% set sources = node.config.meta.get('lake_sources', []) %}
  {% set seen = seen_lake_batches(relation) %}
  {% if sources and not seen %}
    {{ return('it holds no record of the raw batches it was built from') }}
  {% endif %}
  {% for name, batches in newest_lake_batches(sources).items() %}
    {% if batches['full'] > seen.get(name, '') %}
      {{ return(name ~ ' has a full snapshot (' ~ batches['full'] ~ ') the table has not seen') }}
    {% endif %}
  {% endfor %}
  {{ return('') }}
{% endmacro %}
