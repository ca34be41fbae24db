{#- Aggregate: `value` of the row that comes first in the order of `order_by` (a list of columns),
    among the rows where `condition` holds; null when there is none. -#}
{% macro value_at_first(value, order_by, condition) -%}
    {{ return(adapter.dispatch('value_at_first', 'customer_lifecycle')(value, order_by, condition)) }}
{%- endmacro %}

{% macro default__value_at_first(value, order_by, condition) -%}
    (array_agg({{ value }} order by {{ order_by | join(', ') }}) filter (where {{ condition }}))[1]
{%- endmacro %}

{% macro duckdb__value_at_first(value, order_by, condition) -%}
    arg_min({{ value }}, ({{ order_by | join(', ') }})) filter (where {{ condition }})
{%- endmacro %}

{% macro spark__value_at_first(value, order_by, condition) -%}
    min_by({{ value }}, struct({{ order_by | join(', ') }})) filter (where {{ condition }})
{%- endmacro %}

{#- Aggregate: the amount of the earliest of the rows where `condition` holds, the smaller amount first
    among rows at the same instant (docs/decisions.md, "Purchase order ties"); null when there is none.
    `at` is a timestamp, `amount` a money amount of at most 4 decimals. -#}
{% macro earliest_amount(at, amount, condition) -%}
    {{ return(adapter.dispatch('earliest_amount', 'customer_lifecycle')(at, amount, condition)) }}
{%- endmacro %}

{% macro default__earliest_amount(at, amount, condition) -%}
    {{ customer_lifecycle.value_at_first(amount, [at, amount], condition) }}
{%- endmacro %}

{#- DuckDB: one min() over a 128-bit integer that holds the instant (microseconds, shifted to be
    positive) in its high 64 bits and the amount in 1/10000 units in its low 64 bits, so the order is
    (instant, amount) and the amount is read back from the low bits (a bitwise and: a 128-bit modulo
    is slow). A min() over numbers costs a
    fraction of one over a struct or of an arg_min with a struct key. Amounts of purchases are
    positive, so they fit the low bits. -#}
{% macro duckdb__earliest_amount(at, amount, condition) -%}
    cast(
        cast(
            cast(
                min(case when {{ condition }} then
                    (epoch_us({{ at }}) + 4611686018427387904)::hugeint * 18446744073709551616
                    + cast({{ amount }} * 10000 as bigint)
                end) & 18446744073709551615
                as bigint
            ) as decimal(18, 0)
        ) * cast(0.0001 as decimal(5, 4))
        as {{ customer_lifecycle.money_type() }}
    )
{%- endmacro %}
