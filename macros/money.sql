{#- One type for every amount of money: exact decimals, four places (enough for any ISO 4217 currency). -#}
{% macro money_type() -%}
    {{ return(adapter.dispatch('money_type', 'customer_lifecycle')()) }}
{%- endmacro %}

{% macro default__money_type() -%}
    decimal(18, 4)
{%- endmacro %}
