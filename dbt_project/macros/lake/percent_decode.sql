{% macro percent_decode(text) -%}
  {#- %XX escapes of printable ASCII (a UTF-8 escape needs a plain path instead). -#}
  {%- set printable = ' !"#$%&\'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~' -%}
  {%- set pieces = text.split('%') -%}
  {%- set out = [pieces[0]] -%}
  {%- for piece in pieces[1:] -%}
    {%- set code = piece[:2] | int(-1, 16) if piece[:2] | length == 2 else -1 -%}
    {%- if code < 32 or code > 126 or modules.re.match('^[0-9A-Fa-f]{2}', piece) is none -%}
      {{ exceptions.raise_compiler_error("lake URI " ~ text ~ ": only %XX escapes of printable ASCII are understood; give a plain path instead") }}
    {%- endif -%}
    {%- do out.append(printable[code - 32] ~ piece[2:]) -%}
  {%- endfor -%}
  {{- return(out | join('')) -}}
{%- endmacro %}
