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

{#- Whether this dbt command builds models. Only then do the incremental models look at what they
    stored: `dbt compile` or `dbt docs generate` render every model as a full build, without a query,
    so they work on any warehouse, including one built from other inputs. -#}
{% macro builds_models() -%}
    {{ return(execute and flags.WHICH in ['run', 'build', 'retry']) }}
{%- endmacro %}

{#- Pre-hook of int_payments_summarized: empty the table when this run rebuilds it whole
    (payments_read_so_far gives none: other settings, or an input that is not the earlier one with
    rows appended), so no stored row outlives the rebuild. -#}
{% macro empty_payments_if_rebuilding(var_names) -%}
    {%- if customer_lifecycle.builds_models() and is_incremental()
        and customer_lifecycle.payments_read_so_far(customer_lifecycle.build_settings(var_names), quiet=true) is none -%}
        delete from {{ this }}
    {%- endif -%}
{%- endmacro %}

{#- Whether the rows of input `name` (a raw_table() relation in `raw_rows`) start with the `rows_read`
    rows read before: the input has at least that many rows, and the row at `last_line` still holds
    `customer_id` (none: not checked). A full re-export in another order, a shorter input or another
    source fails it; it logs one line saying so and that `rebuilt` is rebuilt whole, unless `quiet`.
    A check by position, cheap on every input; `lifecycle run` also compares the content of every
    earlier row before it runs dbt (docs/decisions.md, "Incremental runs"). -#}
{% macro input_is_appended(name, raw_rows, rows_read, last_line, customer_id, rebuilt, quiet) -%}
    {%- set input_customer = customer_lifecycle.trimmed_text('customer_id') -%}
    {%- set found = run_query(
        "select (select count(*) from " ~ raw_rows ~ "), (select max(" ~ input_customer ~ ") from "
        ~ raw_rows ~ " where source_line = " ~ last_line ~ ")"
    ).rows[0] -%}
    {%- set input_rows = found[0] | int -%}
    {%- set appended = input_rows >= rows_read and (customer_id is none or found[1] == customer_id) -%}
    {%- if not appended and not quiet -%}
        {%- set why = (input_rows ~ " rows now, " ~ rows_read ~ " read before") if input_rows < rows_read
            else ("line " ~ last_line ~ " held customer " ~ customer_id ~ ", now " ~ found[1]) -%}
        {{ log("lifecycle: " ~ name ~ ": the input is not the earlier input with rows appended (" ~ why
            ~ "): rebuilding " ~ rebuilt ~ " whole", info=true) }}
    {%- endif -%}
    {{ return(appended) }}
{%- endmacro %}

{#- How far the payments input was read: `last_line` (the highest line summed), `next_batch` (this
    run's load_batch) and `generation` (the invocation that built the stored rows from scratch); none
    when the table is to be rebuilt whole: nothing is stored, the rows were built with other settings,
    or the input is not the earlier one with rows appended (input_is_appended, which says so unless
    `quiet`). -#}
{% macro payments_read_so_far(settings, quiet=false) -%}
    {%- if not customer_lifecycle.builds_models() -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set stored = run_query(
        "select count(*), coalesce(sum(payments), 0), coalesce(max(through_line), 0), coalesce(max(load_batch), 0),"
        ~ " (select build_settings from " ~ this ~ " limit 1), (select generation from " ~ this ~ " limit 1)"
        ~ " from " ~ this
    ).rows[0] -%}
    {%- set stored_rows, rows_read, last_line, last_batch = stored[0] | int, stored[1] | int, stored[2] | int, stored[3] | int -%}
    {%- if stored_rows == 0 or stored[4] != customer_lifecycle.fingerprint(settings) -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set customer_id = run_query(
        "select max(customer_id) from " ~ this ~ " where through_line = " ~ last_line
    ).rows[0][0] -%}
    {%- if not customer_lifecycle.input_is_appended(
        'payments', raw_table('payments', ['customer_id']), rows_read, last_line, customer_id,
        'the summed payments (' ~ this.identifier ~ ')', quiet
    ) -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return({'last_line': last_line, 'next_batch': last_batch + 1, 'generation': stored[5]}) }}
{%- endmacro %}

{#- For int_customers_unioned: what its stored rows were built from, when this run can bring them up
    to date by rewriting some customers, else none (rebuild whole): they must exist, share the
    settings and the generation of int_payments_summarized, and be as of this run's date or an earlier
    one. -#}
{% macro customers_built_from(settings) -%}
    {%- if not customer_lifecycle.builds_models() or not is_incremental() -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set stored = run_query(
        "select count(*), (select build_settings from " ~ this ~ " limit 1),"
        ~ " (select built_from_generation from " ~ this ~ " limit 1),"
        ~ " max(built_from_load_batch), cast(max(built_as_of_date) as "
        ~ dbt.type_string() ~ "), max(built_from_customers_batch) from " ~ this
    ).rows[0] -%}
    {%- set customers_batches = run_query(
        "select coalesce(max(load_batch), 0), min(load_batch) from " ~ ref('stg_billing__customers')
    ).rows[0] -%}
    {%- set customers_batch = customers_batches[0] | int -%}
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
        or customers_batch < (stored[5] | int)
        or (customers_batches[1] is not none and (customers_batches[1] | int) > (stored[5] | int)) -%}
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
    {%- if customer_lifecycle.builds_models() and is_incremental()
        and customer_lifecycle.customers_built_from(customer_lifecycle.build_settings(var_names)) is none -%}
        delete from {{ this }}
    {%- endif -%}
{%- endmacro %}

{#- For stg_billing__customers: `next_batch` (this run's load_batch) and `last_line`, how far the
    customers input was stored, like payments_read_so_far; `last_line` is none when the table is
    to be rebuilt whole: nothing is stored, the rows were typed with another input_mapping, or the
    input is not the earlier one with rows appended. A rebuild still numbers its rows with the next
    load_batch, so int_customers_unioned, which then finds none of the batches it was built from,
    rebuilds whole too. -#}
{% macro customers_read_so_far(quiet=false) -%}
    {%- set rebuild = {'last_line': none, 'next_batch': 1} -%}
    {%- if not customer_lifecycle.builds_models() or not is_incremental() -%}
        {{ return(rebuild) }}
    {%- endif -%}
    {%- set stored = run_query(
        "select count(*), coalesce(max(source_line), 0), coalesce(max(load_batch), 0) from " ~ this
    ).rows[0] -%}
    {%- set stored_rows, last_line = stored[0] | int, stored[1] | int -%}
    {%- do rebuild.update({'next_batch': (stored[2] | int) + 1}) -%}
    {%- if stored_rows == 0 -%}
        {{ return(rebuild) }}
    {%- endif -%}
    {%- if customer_lifecycle.customers_mapping_changed() -%}
        {%- if not quiet -%}
            {{ log("lifecycle: customers: typed with another input_mapping than this run's: typing every row again", info=true) }}
        {%- endif -%}
        {{ return(rebuild) }}
    {%- endif -%}
    {%- set customer_id = run_query(
        "select max(customer_id) from " ~ this ~ " where source_line = " ~ last_line
    ).rows[0][0] -%}
    {%- if not customer_lifecycle.input_is_appended(
        'customers',
        raw_table('customers', ['customer_id'], required=false, required_columns=['customer_id']),
        stored_rows, last_line, customer_id, 'the typed customers (' ~ this.identifier ~ ')', quiet
    ) -%}
        {{ return(rebuild) }}
    {%- endif -%}
    {{ return({'last_line': last_line, 'next_batch': rebuild.next_batch}) }}
{%- endmacro %}

{#- Pre-hook of stg_billing__customers: empty the table when this run rebuilds it whole
    (customers_read_so_far gives no last line). -#}
{% macro empty_customers_if_rebuilding() -%}
    {%- if customer_lifecycle.builds_models() and is_incremental()
        and customer_lifecycle.customers_read_so_far(quiet=true).last_line is none -%}
        delete from {{ this }}
    {%- endif -%}
{%- endmacro %}

{#- The fingerprint of the settings a table's rows were built with (every row has the same), or none
    when it is empty. -#}
{% macro stored_settings(relation) -%}
    {{ return(run_query("select build_settings from " ~ relation ~ " limit 1").rows[0][0]
        if run_query("select count(*) from (select 1 from " ~ relation ~ " limit 1) as any_row").rows[0][0] > 0
        else none) }}
{%- endmacro %}
