{#- Parse an ISO-8601 text into a timestamp without time zone that holds the UTC instant.
    With an offset (Z, +05:00, +0530, +05) the instant is converted to UTC; without one the text
    already is UTC; a bare date is midnight UTC. -#}
{% macro parse_timestamp_utc(column) -%}
    {{ return(adapter.dispatch('parse_timestamp_utc', 'customer_lifecycle')(column)) }}
{%- endmacro %}

{% macro duckdb__parse_timestamp_utc(column) -%}
    case
        when regexp_matches(trim({{ column }}), '\d:\d{2}(:\d{2}(\.\d+)?)?\s*([zZ]|[+-]\d{2}(:?\d{2})?)$')
            then timezone('UTC', cast(trim({{ column }}) as timestamptz))
        else cast(trim({{ column }}) as timestamp)
    end
{%- endmacro %}
