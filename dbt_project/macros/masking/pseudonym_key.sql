{#- Where the masked models' key comes from, and a one-line failure at the start of a run without one.

    1. LAKEHOUSE_PSEUDONYM_KEY (64 hex characters): the profile passes it to Spark as the session
       setting `spark.lakehouse.pseudonym.hmac_key` (production: the Airflow connection sets it);
       the profile sets 'not-set' when the variable is empty and 'invalid' when it is not a key.
    2. Otherwise the laptop's key file, `<LAKEHOUSE_LOCAL_DIR or ./.local>/pseudonym.key` (0600,
       written by `make` on first use): the run's start puts a view over it, and Spark reads it
       when the statement runs, so a plain `dbt build` in a shell with only the venv activated
       finds the key `make demo` used.
    The key never enters Jinja: no macro calls env_var on it (dbt records the values of the
    variables that macros read in partial_parse.msgpack), and the SQL names the setting or the
    view, never the key. -#}

{% macro pseudonym_key_file() -%}
  {{ env_var('LAKEHOUSE_LOCAL_DIR', env_var('PWD', '.') ~ '/.local') }}/pseudonym.key
{%- endmacro %}

{% macro pseudonym_key_sql() -%}
  coalesce(
    case when '${spark.lakehouse.pseudonym.hmac_key}' rlike '^[0-9a-fA-F]{64}$' then '${spark.lakehouse.pseudonym.hmac_key}' end,
    (select max(key) from global_temp.lakehouse_pseudonym_key)
  )
{%- endmacro %}

{% macro check_pseudonym_key() %}
  {#- On run start, when a selected model pseudonymizes: the session setting holds a key, or the key
      file holds one, or the run stops here with one line. Either way it (re)creates the view
      pseudonym_key_sql reads (global: a Thrift server gives each connection its own session). -#}
  {% if execute %}
    {% set masked = [] %}
    {% for unique_id in selected_resources %}
      {% set node = graph.nodes.get(unique_id) %}
      {% if node and 'pseudonymize(' in (node.raw_code or '') %}
        {% do masked.append(node.name) %}
      {% endif %}
    {% endfor %}
    {% if masked %}
      {% set source = run_query(
          "select case when '${spark.lakehouse.pseudonym.hmac_key}' rlike '^[0-9a-fA-F]{64}$' then 'setting'"
          ~ " when '${spark.lakehouse.pseudonym.hmac_key}' = 'not-set' then 'file' else 'invalid' end"
      ).columns[0].values()[0] %}
      {% set path = pseudonym_key_file() %}
      {% set hint = "set LAKEHOUSE_PSEUDONYM_KEY to 64 hex characters (openssl rand -hex 32), or unset it and keep one in "
          ~ path ~ " (make demo writes it)" %}
      {% if source == 'invalid' %}
        {{ exceptions.raise_compiler_error(
            masked | join(', ') ~ " need a pseudonym key: LAKEHOUSE_PSEUDONYM_KEY is not 64 hex characters; " ~ hint
        ) }}
      {% elif source == 'setting' %}
        {% do run_query("create or replace global temporary view lakehouse_pseudonym_key as select cast(null as string) as key") %}
      {% else %}
        {% set folder, name = path.rsplit('/', 1) %}
        {#- A text table over the folder, filtered to the file's name: no file is no row, not an error
            (recursiveFileLookup: the folder's partition-style subfolders, batch=..., are not read as partitions). -#}
        {% do run_query(
            "create or replace global temporary view lakehouse_pseudonym_key_file using text options (path 'file://"
            ~ folder ~ "', pathGlobFilter '" ~ name ~ "', recursiveFileLookup 'true')"
        ) %}
        {% do run_query(
            "create or replace global temporary view lakehouse_pseudonym_key as select max(trim(value)) as key"
            ~ " from global_temp.lakehouse_pseudonym_key_file where trim(value) rlike '^[0-9a-fA-F]{64}$'"
        ) %}
        {% set keys = run_query(
            "select count(*) from global_temp.lakehouse_pseudonym_key_file where trim(value) rlike '^[0-9a-fA-F]{64}$'"
        ).columns[0].values()[0] %}
        {% if keys != 1 %}
          {{ exceptions.raise_compiler_error(masked | join(', ') ~ " need a pseudonym key: " ~ hint) }}
        {% endif %}
      {% endif %}
    {% endif %}
  {% endif %}
{% endmacro %}
