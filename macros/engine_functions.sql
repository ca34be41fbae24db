{#- Functions some engines lack, created before every run (on-run-start). PostgreSQL has no try_cast:
    these return null instead of raising on text that is not a valid timestamp or number, so a bad row
    is set aside rather than failing the build. -#}
{% macro create_engine_functions() -%}
    {{ return(adapter.dispatch('create_engine_functions', 'customer_lifecycle')()) }}
{%- endmacro %}

{% macro default__create_engine_functions() -%}
    select 1
{%- endmacro %}

{% macro postgres__create_engine_functions() -%}
    create schema if not exists {{ target.schema }};
    create or replace function {{ target.schema }}.lifecycle_try_timestamptz(value text)
    returns timestamptz language plpgsql immutable as $$
    begin
        return value::timestamptz;
    exception when others then
        return null;
    end $$;
    create or replace function {{ target.schema }}.lifecycle_try_timestamp(value text)
    returns timestamp language plpgsql immutable as $$
    begin
        return value::timestamp;
    exception when others then
        return null;
    end $$;
    create or replace function {{ target.schema }}.lifecycle_try_money(value text)
    returns {{ customer_lifecycle.money_type() }} language plpgsql immutable as $$
    begin
        if value !~ '^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$' then
            return null;
        end if;
        return value::numeric::{{ customer_lifecycle.money_type() }};
    exception when others then
        return null;
    end $$
{%- endmacro %}
