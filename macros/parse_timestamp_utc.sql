{#- Parse an ISO-8601 text into a timestamp without time zone that holds the UTC instant, or null
    when the text is empty or not a valid ISO-8601 date or timestamp. With an offset (Z, +05:00,
    +0530, +05) the instant is converted to UTC; without one the text already is UTC; a bare date is
    midnight UTC. Seconds may be left out (10:00Z); T, Z may be lower case. -#}
{% macro parse_timestamp_utc(column) -%}
    {{ return(adapter.dispatch('parse_timestamp_utc', 'customer_lifecycle')(column)) }}
{%- endmacro %}

{#- The text in one canonical shape: upper case, seconds present, Z written as +00:00. -#}
{% macro iso_timestamp_normalized(column) -%}
    {{ return(adapter.dispatch('iso_timestamp_normalized', 'customer_lifecycle')(column)) }}
{%- endmacro %}

{% macro default__iso_timestamp_normalized(column) -%}
    regexp_replace(
        regexp_replace(
            upper(trim({{ column }})),
            '^(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2})(Z|[+-]\d{2}(:?\d{2})?)?$',
            '\1:00\2'
        ),
        'Z$',
        '+00:00'
    )
{%- endmacro %}

{#- DuckDB: text already in the canonical shape (the common case) is cast directly; only other text
    goes through the normalizing regular expressions. Naive text is read in the session time zone,
    UTC (profiles.yml); epoch microseconds give the UTC wall clock without a calendar conversion. -#}
{% macro duckdb__parse_timestamp_utc(column) -%}
    {%- set text = customer_lifecycle.spaces_trimmed(column) -%}
    {%- set normalized = customer_lifecycle.iso_timestamp_normalized(column) -%}
    case
        when regexp_full_match({{ text }}, '\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([+-]\d{2}(:?\d{2})?|Z)?)?')
            then make_timestamp(epoch_us(try_cast({{ text }} as timestamptz)))
        when not regexp_full_match({{ normalized }}, '\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([+-]\d{2}(:?\d{2})?)?)?')
            then null
        when regexp_matches({{ normalized }}, ':\d{2}(\.\d+)?[+-]\d{2}(:?\d{2})?$')
            then timezone('UTC', try_cast({{ normalized }} as timestamptz))
        else try_cast({{ normalized }} as timestamp)
    end
{%- endmacro %}

{% macro postgres__parse_timestamp_utc(column) -%}
    {%- set normalized = customer_lifecycle.iso_timestamp_normalized(column) -%}
    case
        when not ({{ normalized }} ~ '^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([+-]\d{2}(:?\d{2})?)?)?$')
            then null
        when {{ normalized }} ~ ':\d{2}(\.\d+)?[+-]\d{2}(:?\d{2})?$'
            then {{ target.schema }}.lifecycle_try_timestamptz({{ normalized }}) at time zone 'UTC'
        else {{ target.schema }}.lifecycle_try_timestamp({{ normalized }})
    end
{%- endmacro %}

{#- Spark: Java regular expressions without backslashes ($1 back-references). A Spark timestamp is an
    instant shown in the session time zone, which the spark profile sets to UTC; the cast applies the
    offset, so the value is the UTC instant. -#}
{% macro spark__iso_timestamp_normalized(column) -%}
    regexp_replace(
        regexp_replace(
            upper(trim({{ column }})),
            '^([0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2})(Z|[+-][0-9]{2}(:?[0-9]{2})?)?$',
            '$1:00$2'
        ),
        'Z$',
        '+00:00'
    )
{%- endmacro %}

{% macro spark__parse_timestamp_utc(column) -%}
    {%- set normalized = customer_lifecycle.iso_timestamp_normalized(column) -%}
    case
        when not ({{ normalized }} rlike '^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}:[0-9]{2}([.][0-9]{1,9})?([+-][0-9]{2}(:?[0-9]{2})?)?)?$')
            then null
        else try_cast({{ normalized }} as timestamp)
    end
{%- endmacro %}
