{#- Masking for models meant for broad access (models/marts/broad/). The policy check in
    governance/policy.py requires a personal-looking column of a broad model to carry meta `masking`. -#}

{% macro pseudonymize(column) -%}
    {#- HMAC-SHA256 (RFC 2104) of the value as UTF-8, as lowercase hex: a stable join key that does
        not show the value and cannot be recomputed without the key. The key is the session setting
        `spark.lakehouse.pseudonym.hmac_key` (64 hex characters: LAKEHOUSE_PSEUDONYM_KEY, passed by
        the dbt profile), else the key file's view (pseudonym_key.sql). The SQL names the setting
        or the file, never the key: Spark reads it when the statement runs, so the key reaches no
        manifest, compiled SQL, docs page or DataHub aspect.
        (The setting's name must not match spark.redaction.regex: Spark substitutes a redacted
        setting as "*****(redacted)".) Spark 3.5 has no HMAC function, so
        this is the definition: sha256((K xor opad) || sha256((K xor ipad) || message)). -#}
    {%- set key = pseudonym_key_sql() -%}
    case
        when {{ key }} rlike '^[0-9a-fA-F]{64}$' then sha2(concat(
            unhex({{ key_pad(key, 1549556828) }}),
            unhex(sha2(concat(unhex({{ key_pad(key, 909522486) }}), cast(cast({{ column }} as string) as binary)), 256))
        ), 256)
        else raise_error('set LAKEHOUSE_PSEUDONYM_KEY to 64 hex characters (a 32-byte key), e.g. from `openssl rand -hex 32`')
    end
{%- endmacro %}
