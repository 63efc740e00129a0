{% macro key_pad(key, pattern) -%}
    {#- The 32-byte key zero-padded to SHA-256's 64-byte block, each byte xor'ed with the pad byte
        (`pattern` repeats it four times), as hex: 16 groups of 4 bytes, since Spark xors integers. -#}
    concat(
        {%- for i in range(16) %}
        lpad(hex(cast(conv(substr(rpad({{ key }}, 128, '0'), {{ i * 8 + 1 }}, 8), 16, 10) as bigint) ^ {{ pattern }}), 8, '0')
        {{- ',' if not loop.last }}
        {%- endfor %}
    )
{%- endmacro %}
