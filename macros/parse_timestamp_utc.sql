{#- Parse an ISO-8601 text into a timestamp without time zone that holds the UTC instant, or null
    when the text is empty or not a valid ISO-8601 date or timestamp. With an offset (Z, +05:00,
    +0530, +05) the instant is converted to UTC; without one the text already is UTC; a bare date is
    midnight UTC. -#}
{% macro parse_timestamp_utc(column) -%}
    {{ return(adapter.dispatch('parse_timestamp_utc', 'customer_lifecycle')(column)) }}
{%- endmacro %}

{% macro duckdb__parse_timestamp_utc(column) -%}
    case
        when not regexp_full_match(trim({{ column }}), '\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?\s*([zZ]|[+-]\d{2}(:?\d{2})?)?')
            then null
        when regexp_matches(trim({{ column }}), '\d:\d{2}(:\d{2}(\.\d+)?)?\s*([zZ]|[+-]\d{2}(:?\d{2})?)$')
            then timezone('UTC', try_cast(trim({{ column }}) as timestamptz))
        else try_cast(trim({{ column }}) as timestamp)
    end
{%- endmacro %}

{% macro postgres__parse_timestamp_utc(column) -%}
    case
        when not (trim({{ column }}) ~ '^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?\s*([zZ]|[+-]\d{2}(:?\d{2})?)?$')
            then null
        when trim({{ column }}) ~ '\d:\d{2}(:\d{2}(\.\d+)?)?\s*([zZ]|[+-]\d{2}(:?\d{2})?)$'
            then {{ target.schema }}.lifecycle_try_timestamptz(trim({{ column }})) at time zone 'UTC'
        else {{ target.schema }}.lifecycle_try_timestamp(trim({{ column }}))
    end
{%- endmacro %}
