{#- Bookkeeping of the incremental models. int_payments_summarized's rows keep `build_settings` (the
    vars they depend on, from `build_settings()`), `load_batch` (the run that wrote them),
    `generation` (the dbt invocation that built the table from scratch, kept by incremental runs) and
    `through_line` (the last input line they sum). int_customers_unioned keeps which of those it was
    built from. The settings and the generation are stored as their `fingerprint()`s: a constant
    text column on every row costs about 3 s to write over the 24M summed months of 50M payments, a
    number next to nothing. -#}

{#- The vars in `var_names` with their values, as one text: 'reporting_timezone=UTC;...'. -#}
{% macro build_settings(var_names) -%}
    {%- set parts = [] -%}
    {%- for name in var_names -%}
        {%- do parts.append(name ~ '=' ~ var(name, none)) -%}
    {%- endfor -%}
    {{ return(parts | join(';')) }}
{%- endmacro %}

{#- A number in [0, 2^63) that stands for `text`: its UTF-8 bytes read as one integer, modulo the largest
    prime below 2^63 (a bigint on every engine). Two texts give the same number only when they differ
    by a multiple of that prime as integers: for the few settings texts and invocation ids one
    warehouse sees, practically never. -#}
{% macro fingerprint(text) -%}
    {{ return((text.encode('utf-8').hex() | int(base=16)) % 9223372036854775783) }}
{%- endmacro %}

{#- Pre-hook: empty the table when its rows were built with other settings, so this run rebuilds it
    whole instead of adding to rows that other settings made. -#}
{% macro rebuild_if_settings_changed(var_names) -%}
    {%- if execute and is_incremental() -%}
        {%- set settings = customer_lifecycle.build_settings(var_names) -%}
        {%- set stored = customer_lifecycle.stored_settings(this) -%}
        {%- if stored is not none and stored != customer_lifecycle.fingerprint(settings) -%}
            {{ log(this ~ " was built with other settings than this run's " ~ settings ~ ": rebuilding it whole", info=true) }}
            delete from {{ this }}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#- How far the payments input was read: `last_line` (the highest line summed; 0 when nothing was) and
    `next_batch` (this run's load_batch) and `generation` (the invocation that built the stored rows
    from scratch); none when nothing is stored or the rows were built with other settings (the
    pre-hook rebuild_if_settings_changed empties the table, and the run reads everything). Stops the run when the input no longer starts with the rows
    already read (it has fewer rows, or the last line read holds another customer's payment): such an input
    was rewritten, not appended to, and needs --full-refresh. -#}
{% macro payments_read_so_far(settings) -%}
    {%- if not execute -%}
        {{ return({'last_line': 0, 'next_batch': 1, 'generation': customer_lifecycle.fingerprint(invocation_id)}) }}
    {%- endif -%}
    {%- set stored = run_query(
        "select count(*), coalesce(sum(payments), 0), coalesce(max(through_line), 0), coalesce(max(load_batch), 0),"
        ~ " (select build_settings from " ~ this ~ " limit 1), (select generation from " ~ this ~ " limit 1)"
        ~ " from " ~ this
    ).rows[0] -%}
    {%- if stored[0] > 0 and stored[4] != customer_lifecycle.fingerprint(settings) -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set stored_rows, rows_read, last_line, last_batch = stored[0] | int, stored[1] | int, stored[2] | int, stored[3] | int -%}
    {%- if stored_rows == 0 -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set customer_id = customer_lifecycle.trimmed_text('customer_id') -%}
    {%- set checked = run_query(
        "select input.input_rows, stored.customer_id is null or input.customer_id = stored.customer_id from"
        ~ " (select (select count(*) from " ~ raw_table('payments', ['customer_id']) ~ ") as input_rows,"
        ~ " (select max(" ~ customer_id ~ ") from " ~ raw_table('payments', ['customer_id'])
        ~ " where source_line = " ~ last_line ~ ") as customer_id) as input"
        ~ " cross join (select max(customer_id) as customer_id from " ~ this
        ~ " where through_line = " ~ last_line ~ ") as stored"
    ).rows[0] -%}
    {%- if (checked[0] | int) < rows_read or not checked[1] -%}
        {{ exceptions.raise_compiler_error(
            "payments: the input is not the earlier input with rows appended (" ~ checked[0] ~ " rows now, "
            ~ rows_read ~ " read before, or the row at line " ~ last_line ~ " changed); rebuild with --full-refresh"
        ) }}
    {%- endif -%}
    {{ return({'last_line': last_line, 'next_batch': last_batch + 1, 'generation': stored[5]}) }}
{%- endmacro %}

{#- For int_customers_unioned: what its stored rows were built from, when this run can bring them up
    to date by rewriting some customers, else none (rebuild whole): they must exist, share the
    settings and the generation of int_payments_summarized, and be as of this run's date or an earlier
    one. -#}
{% macro customers_built_from(settings) -%}
    {%- if not execute or not is_incremental() -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set stored = run_query(
        "select count(*), (select build_settings from " ~ this ~ " limit 1),"
        ~ " (select built_from_generation from " ~ this ~ " limit 1),"
        ~ " max(built_from_load_batch), cast(max(built_as_of_date) as "
        ~ dbt.type_string() ~ "), max(built_from_customers_batch) from " ~ this
    ).rows[0] -%}
    {%- set customers_batch = run_query(
        "select coalesce(max(load_batch), 0) from " ~ ref('stg_billing__customers')
    ).rows[0][0] | int -%}
    {%- set summarized = run_query(
        "select (select generation from " ~ ref('int_payments_summarized') ~ " limit 1), max(load_batch) from "
        ~ ref('int_payments_summarized')
    ).rows[0] -%}
    {%- set as_of = run_query(
        "select cast(as_of_date as " ~ dbt.type_string() ~ ") from " ~ ref('int_reporting_window')
    ).rows[0][0] -%}
    {%- if stored[0] == 0 or stored[1] != customer_lifecycle.fingerprint(settings)
        or stored[2] != summarized[0] or (summarized[1] | int) < (stored[3] | int)
        or as_of is none or stored[4] is none or as_of < stored[4]
        or customers_batch < (stored[5] | int) -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return({
        'load_batch': stored[3] | int,
        'customers_batch': stored[5] | int,
        'as_of_date': "cast('" ~ stored[4] ~ "' as date)"
    }) }}
{%- endmacro %}

{#- Pre-hook of int_customers_unioned: empty the table when its rows cannot be brought up to date
    (customers_built_from gives none), so the run rebuilds it whole. -#}
{% macro empty_customers_if_not_current(var_names) -%}
    {%- if execute and is_incremental()
        and customer_lifecycle.customers_built_from(customer_lifecycle.build_settings(var_names)) is none -%}
        delete from {{ this }}
    {%- endif -%}
{%- endmacro %}

{#- For stg_billing__customers: how far the customers input was stored (`last_line`, `next_batch`), like
    payments_read_so_far; none when nothing is stored. -#}
{% macro customers_read_so_far() -%}
    {%- if not execute -%}
        {{ return({'last_line': 0, 'next_batch': 1}) }}
    {%- endif -%}
    {%- set stored = run_query(
        "select count(*), coalesce(max(source_line), 0), coalesce(max(load_batch), 0) from " ~ this
    ).rows[0] -%}
    {%- if stored[0] == 0 -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set stored_rows, last_line = stored[0] | int, stored[1] | int -%}
    {%- set customer_id = customer_lifecycle.trimmed_text('customer_id') -%}
    {%- set checked = run_query(
        "select input.input_rows, input.customer_id is not distinct from stored.customer_id from"
        ~ " (select (select count(*) from " ~ raw_table('customers', ['customer_id'], required=false, required_columns=['customer_id'])
        ~ ") as input_rows, (select max(" ~ customer_id ~ ") from "
        ~ raw_table('customers', ['customer_id'], required=false, required_columns=['customer_id'])
        ~ " where source_line = " ~ last_line ~ ") as customer_id) as input"
        ~ " cross join (select max(customer_id) as customer_id from " ~ this
        ~ " where source_line = " ~ last_line ~ ") as stored"
    ).rows[0] -%}
    {%- if (checked[0] | int) < stored_rows or not checked[1] -%}
        {{ exceptions.raise_compiler_error(
            "customers: the input is not the earlier input with rows appended (" ~ checked[0] ~ " rows now, "
            ~ stored_rows ~ " stored before, or the row at line " ~ last_line ~ " changed); rebuild with --full-refresh"
        ) }}
    {%- endif -%}
    {{ return({'last_line': last_line, 'next_batch': (stored[2] | int) + 1}) }}
{%- endmacro %}

{#- The fingerprint of the settings a table's rows were built with (every row has the same), or none
    when it is empty. -#}
{% macro stored_settings(relation) -%}
    {{ return(run_query("select build_settings from " ~ relation ~ " limit 1").rows[0][0]
        if run_query("select count(*) from (select 1 from " ~ relation ~ " limit 1) as any_row").rows[0][0] > 0
        else none) }}
{%- endmacro %}
