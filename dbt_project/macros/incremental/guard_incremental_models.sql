{% macro guard_incremental_models() %}
  {% if execute and flags.WHICH in ('run', 'build') %}
    {% for node in graph.nodes.values()
        if node.resource_type == 'model' and node.config.materialized == 'incremental'
        and node.unique_id in selected_resources %}
      {% set relation = adapter.get_relation(node.database, node.schema, node.alias) %}
      {% if relation is not none and not flags.FULL_REFRESH %}
        {% set reason = stale_reason(relation, node) %}
        {% if reason %}
          {{ log("lakehouse: " ~ node.name ~ " is built in full: " ~ reason, info=true) }}
          {% do adapter.drop_relation(relation) %}
        {% endif %}
      {% endif %}
    {% endfor %}
  {% endif %}
{% endmacro %}
