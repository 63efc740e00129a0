{% macro replace_whole_table_when_built_in_full() %}
  {#- Pre-hook of a partitioned incremental model. dbt-spark sets dynamic partition overwrite for
      insert_overwrite models, also before a full build; a full build (first, --full-refresh, or
      after `guard_incremental_models` dropped the table) into a location that holds files would
      then replace only the partitions it writes and keep the others, stale. Static mode makes it
      replace the whole location. -#}
  {% if not is_incremental() %}set spark.sql.sources.partitionOverwriteMode = STATIC{% endif %}
{% endmacro %}
