{#- The wall-clock time, in the reporting time zone, of a UTC timestamp (no time zone attached). -#}
{% macro to_reporting_timestamp(utc_timestamp) -%}
    {{ return(adapter.dispatch('to_reporting_timestamp', 'customer_lifecycle')(utc_timestamp)) }}
{%- endmacro %}

{% macro duckdb__to_reporting_timestamp(utc_timestamp) -%}
    {%- set tz = var('reporting_timezone') -%}
    {%- if tz | upper == 'UTC' -%}
        {{ utc_timestamp }}
    {%- else -%}
        timezone('{{ tz }}', timezone('UTC', {{ utc_timestamp }}))
    {%- endif -%}
{%- endmacro %}

{% macro postgres__to_reporting_timestamp(utc_timestamp) -%}
    {%- set tz = var('reporting_timezone') -%}
    {%- if tz | upper == 'UTC' -%}
        {{ utc_timestamp }}
    {%- else -%}
        (({{ utc_timestamp }}) at time zone 'UTC') at time zone '{{ tz }}'
    {%- endif -%}
{%- endmacro %}

{#- Spark: timestamps are shown in the session time zone (UTC in the spark profile). -#}
{% macro spark__to_reporting_timestamp(utc_timestamp) -%}
    {%- set tz = var('reporting_timezone') -%}
    {%- if tz | upper == 'UTC' -%}
        {{ utc_timestamp }}
    {%- else -%}
        from_utc_timestamp({{ utc_timestamp }}, '{{ tz }}')
    {%- endif -%}
{%- endmacro %}
