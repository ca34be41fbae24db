{#- On DuckDB, `ref()` and `source()` name a relation by schema and table only, without the catalog. DuckDB
    names a file's catalog after the file, and a view keeps the names it was created with: a view
    that says "lifecycle"."intermediate"... fails in a copy of the warehouse under another file name
    or attached under another alias, while an unqualified name resolves in the view's own catalog
    (docs/decisions.md, "Publishing by rename"). Other engines keep dbt's names. -#}
{% macro ref() -%}
    {%- set relation = builtins.ref(*varargs, **kwargs) -%}
    {{ return(customer_lifecycle.without_catalog(relation)) }}
{%- endmacro %}

{% macro source() -%}
    {%- set relation = builtins.source(*varargs, **kwargs) -%}
    {{ return(customer_lifecycle.without_catalog(relation)) }}
{%- endmacro %}

{% macro without_catalog(relation) -%}
    {%- if target.type == 'duckdb' and relation.include is defined -%}
        {{ return(relation.include(database=false)) }}
    {%- endif -%}
    {{ return(relation) }}
{%- endmacro %}
