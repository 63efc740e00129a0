{% macro lake_location(given) -%}
  {%- set unsafe = modules.re.compile("['\\\\\\x00-\\x1f\\x7f]") -%}
  {%- set scheme = given.split(':', 1)[0].lower() if ':' in given else '' -%}
  {%- if scheme == 'gs' and given[3:5] == '//' -%}
    {%- set bucket, _, prefix = given[5:].partition('/') -%}
    {%- set prefix = prefix.strip('/') -%}
    {%- if not bucket or '..' in prefix.split('/') or unsafe.search(prefix) or '?' in given or '#' in given -%}
      {{ exceptions.raise_compiler_error("lake URI " ~ given ~ ": use gs://BUCKET/PREFIX (no '..', '?', '#', quotes)") }}
    {%- endif -%}
    {{- return(('gs://' ~ bucket ~ '/' ~ prefix).rstrip('/')) -}}
  {%- endif -%}
  {%- set path = given -%}
  {%- if scheme == 'file' -%}
    {%- set rest = given[5:] -%}
    {%- if rest.startswith('//localhost/') -%}{%- set rest = rest[11:] -%}
    {%- elif rest.startswith('//') -%}{%- set rest = rest[2:] -%}{%- endif -%}
    {%- if not rest.startswith('/') or '?' in rest or '#' in rest -%}
      {{ exceptions.raise_compiler_error("lake URI " ~ given ~ " is not file:///absolute/path: percent-encode '#' as %23 and '?' as %3F, or give a plain path") }}
    {%- endif -%}
    {%- set path = percent_decode(rest) -%}
  {%- elif modules.re.match('^[A-Za-z][A-Za-z0-9+.-]*:', given) and '/' not in given.split(':')[0] -%}
    {{ exceptions.raise_compiler_error("unsupported lake URI " ~ given ~ ": use file:///path/to/folder, a path, or gs://BUCKET/PREFIX") }}
  {%- endif -%}
  {%- if unsafe.search(path) -%}
    {{ exceptions.raise_compiler_error("lake path " ~ path ~ " may not contain quotes, backslashes or control characters") }}
  {%- endif -%}
  {%- if path == '~' or path.startswith('~/') -%}
    {%- set path = env_var('HOME') ~ path[1:] -%}
  {%- endif -%}
  {%- if not path.startswith('/') -%}
    {%- set path = env_var('PWD') ~ '/' ~ path -%}
  {%- endif -%}
  {#- Normalise as os.path.abspath does: no '.', no empty parts, '..' drops the part before it. -#}
  {%- set parts = [] -%}
  {%- for part in path.split('/') if part not in ('', '.') -%}
    {%- if part == '..' -%}
      {%- if parts -%}{%- do parts.pop() -%}{%- endif -%}
    {%- else -%}
      {%- do parts.append(part) -%}
    {%- endif -%}
  {%- endfor -%}
  {{- return('file:///' ~ parts | join('/')) -}}
{%- endmacro %}
