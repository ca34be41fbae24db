{#- Bookkeeping of the incremental model int_payments_summarized. Its rows keep `build_settings`
    (the vars they depend on, from `build_settings()`), `load_batch` (the run that wrote them) and
    `through_line` (the last input line they sum). -#}

{#- The vars in `var_names` with their values, as one text: 'reporting_timezone=UTC;...'. -#}
{% macro build_settings(var_names) -%}
    {%- set parts = [] -%}
    {%- for name in var_names -%}
        {%- do parts.append(name ~ '=' ~ var(name, none)) -%}
    {%- endfor -%}
    {{ return(parts | join(';')) }}
{%- endmacro %}

{#- Pre-hook: empty the table when its rows were built with other settings, so this run rebuilds it
    whole instead of adding to rows that other settings made. -#}
{% macro rebuild_if_settings_changed(var_names) -%}
    {%- if execute and is_incremental() -%}
        {%- set settings = customer_lifecycle.build_settings(var_names) -%}
        {%- set stored = run_query(
            "select min(build_settings), max(build_settings) from " ~ this
        ).rows[0] -%}
        {%- if stored[0] is not none and (stored[0] != settings or stored[1] != settings) -%}
            {{ log(this ~ " was built with " ~ stored[0] ~ ", this run uses " ~ settings ~ ": rebuilding it whole", info=true) }}
            delete from {{ this }}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#- How far the payments input was read: `last_line` (the highest line summed; 0 when nothing was) and
    `next_batch` (this run's load_batch); none when the stored rows were built with other settings
    (the pre-hook rebuild_if_settings_changed empties the table, and the run reads everything). Stops the run when the input no longer starts with the rows
    already read (it has fewer rows, or the last line read holds another customer's payment): such an input
    was rewritten, not appended to, and needs --full-refresh. -#}
{% macro payments_read_so_far(settings) -%}
    {%- if not execute -%}
        {{ return({'last_line': 0, 'next_batch': 1}) }}
    {%- endif -%}
    {%- set stored = run_query(
        "select count(*), coalesce(sum(payments), 0), coalesce(max(through_line), 0), coalesce(max(load_batch), 0),"
        ~ " min(build_settings), max(build_settings) from " ~ this
    ).rows[0] -%}
    {%- if stored[0] > 0 and (stored[4] != settings or stored[5] != settings) -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set stored_rows, rows_read, last_line, last_batch = stored[0] | int, stored[1] | int, stored[2] | int, stored[3] | int -%}
    {%- if stored_rows == 0 -%}
        {{ return({'last_line': 0, 'next_batch': last_batch + 1}) }}
    {%- endif -%}
    {%- set customer_id = customer_lifecycle.trimmed_text('customer_id') -%}
    {%- set checked = run_query(
        "select input.input_rows, stored.customer_id is null or input.customer_id = stored.customer_id from"
        ~ " (select count(*) as input_rows, max(case when source_line = " ~ last_line ~ " then " ~ customer_id ~ " end) as customer_id"
        ~ " from " ~ raw_table('payments', ['customer_id']) ~ ") as input"
        ~ " cross join (select max(customer_id) as customer_id from " ~ this
        ~ " where through_line = " ~ last_line ~ ") as stored"
    ).rows[0] -%}
    {%- if (checked[0] | int) < rows_read or not checked[1] -%}
        {{ exceptions.raise_compiler_error(
            "payments: the input is not the earlier input with rows appended (" ~ checked[0] ~ " rows now, "
            ~ rows_read ~ " read before, or the row at line " ~ last_line ~ " changed); rebuild with --full-refresh"
        ) }}
    {%- endif -%}
    {{ return({'last_line': last_line, 'next_batch': last_batch + 1}) }}
{%- endmacro %}
