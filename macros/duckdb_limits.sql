{#- DuckDB's memory limit and worker threads from the environment (LIFECYCLE_MEMORY_LIMIT, e.g. 4GB;
    LIFECYCLE_THREADS), set once per run for the whole database; unset, DuckDB's defaults apply (80%
    of the machine's memory, one thread per core). The hand-written baseline reads the same variables. -#}
{% macro apply_duckdb_limits() -%}
    {%- if target.type == 'duckdb' -%}
        {%- set memory_limit = env_var('LIFECYCLE_MEMORY_LIMIT', '') -%}
        {%- set threads = env_var('LIFECYCLE_THREADS', '') -%}
        {%- if memory_limit %}set memory_limit = '{{ memory_limit | replace("'", "") }}';{% endif -%}
        {%- if threads %} set threads = {{ threads | int }};{% endif -%}
    {%- endif -%}
{%- endmacro %}
