{#- One text value that differs whenever any of `columns` differs (nulls included), for comparing
    whole rows, e.g. to tell an exact duplicate from a conflicting one. -#}
{% macro row_fingerprint(columns) -%}
    {%- set parts = [] -%}
    {%- for column in columns -%}
        {%- if not loop.first -%}{%- do parts.append("'|'") -%}{%- endif -%}
        {%- do parts.append("coalesce(" ~ column ~ ", '<null>')") -%}
    {%- endfor -%}
    {{ dbt.concat(parts) }}
{%- endmacro %}
