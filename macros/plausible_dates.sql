{#- The dates an input row may carry: from 1970-01-01 to 2100-12-31 (UTC), the range as_of_date is
    allowed in too (macros/validate_settings.sql). A payment dated 0001-01-01 or 9999-12-31 is a
    placeholder or a typo, not history: accepted, it would stretch every monthly mart over thousands of
    months (and move the default as_of_date). Such rows are set aside as paid_at_out_of_range /
    created_at_out_of_range. -#}

{#- True when `timestamp` (a UTC timestamp expression) is null or within the range. -#}
{% macro is_plausible_timestamp(timestamp) -%}
    coalesce({{ timestamp }} >= cast('1970-01-01' as {{ dbt.type_timestamp() }})
        and {{ timestamp }} < cast('2101-01-01' as {{ dbt.type_timestamp() }}), true)
{%- endmacro %}
