{#
  Where the lake is, by the rule `ingest.lake.resolve_lake_uri` applies in Python (a test holds the
  two to the same answer): the `lake_uri` var, else LAKEHOUSE_LAKE_URI, else
  <LAKEHOUSE_LOCAL_DIR or .local>/lake. Accepted: gs://BUCKET/PREFIX, file:///absolute/path
  (percent-encoded) or a plain path, relative to the folder dbt runs in (the repository root).
  The result is what Spark wants: gs://bucket/prefix, or file:// and the plain absolute path.
#}

{% macro lake_root() -%}
  {%- set given = var('lake_uri', '') or env_var('LAKEHOUSE_LAKE_URI', '') -%}
  {%- if not given -%}
    {%- set given = env_var('LAKEHOUSE_LOCAL_DIR', '.local') ~ '/lake' -%}
  {%- endif -%}
  {{- return(lake_location(given)) -}}
{%- endmacro %}

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

{% macro spark__location_clause() -%}
  {#- Every table lives in the configured lake, under lakehouse/<model>, resolved when dbt runs. -#}
  {%- set location_root = config.get('location_root', validator=validation.any[basestring]) -%}
  location '{{ location_root or (lake_root() ~ "/lakehouse") }}/{{ model["alias"] }}'
{%- endmacro %}

{% macro show_lake(given=none) -%}
  {#-
    Where dbt finds the lake: `dbt run-operation show_lake`. With `--args '{given: [...]}'`, the
    location each value resolves to, as JSON (the test that holds this rule to Python's uses it).
  -#}
  {%- if given is none -%}
    {{ print(lake_root()) }}
  {%- else -%}
    {%- set resolved = [] -%}
    {%- for value in given -%}{%- do resolved.append(lake_location(value)) -%}{%- endfor -%}
    {{ print(tojson(resolved)) }}
  {%- endif -%}
{%- endmacro %}
