{#- Post-hook of quarantine_input_row_counts: stop the build when payments were read but not one of
    them could be used (every row set aside). The marts would be empty and every later check would
    fail for the same reason; this says the reason once. The message starts with "invalid input:",
    which `lifecycle run` reports as invalid input (exit 3). On when the var
    `stop_when_no_payment_accepted` is true, which `lifecycle run` sets: a plain dbt build of such an
    input builds empty marts, as any model would over no rows (the randomized oracle tests rely on
    it). DuckDB only (its error() function); on other engines the checks still fail such a run. -#}
{% macro fail_when_no_payment_accepted() -%}
    {%- if target.type == 'duckdb' and var('stop_when_no_payment_accepted', false) -%}
    select error(
        'invalid input: payments: none of the ' || rows_read || ' rows read could be used; every row was '
        || 'set aside (the rows and their reasons are in quarantine.payments)'
    )
    from {{ this }}
    where input_table = 'payments' and rows_read > 0 and rows_accepted = 0
    {%- endif -%}
{%- endmacro %}
