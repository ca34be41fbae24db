{#- Bookkeeping shared by the incremental models. Each keeps, in columns of its own rows,
    `build_settings` (the vars its rows depend on, from `build_settings()`), `built_in_run` (a
    counter of the runs that wrote rows) and `built_as_of_date`. -#}

{#- The vars in `var_names` with their values, as one text: 'reporting_timezone=UTC;...'. -#}
{% macro build_settings(var_names) -%}
    {%- set parts = [] -%}
    {%- for name in var_names -%}
        {%- do parts.append(name ~ '=' ~ var(name)) -%}
    {%- endfor -%}
    {{ return(parts | join(';')) }}
{%- endmacro %}

{#- What the stored rows say, and whether they can be brought up to date by adding to them: not when
    the table is empty, was built with other settings, or as of a later date than this run's (then
    `stale` is true and the model rebuilds from scratch, see reset_incremental_if_stale). -#}
{% macro stored_build_state(var_names, extra=none) -%}
    {%- set settings = customer_lifecycle.build_settings(var_names) -%}
    {%- set stored = run_query(
        "select count(*), cast(max(built_as_of_date) as " ~ dbt.type_string() ~ "), min(build_settings), max(build_settings)"
        ~ (", max(" ~ extra ~ ")" if extra else ", 0") ~ " from " ~ this
    ).rows[0] -%}
    {%- if stored[0] == 0 -%}
        {{ return({'empty': true, 'stale': false}) }}
    {%- endif -%}
    {%- set stale = stored[2] != settings or stored[3] != settings -%}
    {%- if not stale -%}
        {%- set current = run_query(
            "select cast(as_of_date as " ~ dbt.type_string() ~ ") from " ~ ref('int_reporting_window')
        ).rows[0][0] -%}
        {%- set stale = current is not none and stored[1] is not none and current < stored[1] -%}
    {%- endif -%}
    {{ return({
        'empty': false,
        'stale': stale,
        'previous_as_of': "cast('" ~ stored[1] ~ "' as date)",
        'previous_as_of_month': "cast('" ~ stored[1][:7] ~ "-01' as date)",
        'extra': stored[4] | int
    }) }}
{%- endmacro %}

{#- For the model body: the stored state when this run can add to the stored rows, else none (build
    everything, as in a full refresh). -#}
{% macro incremental_state(var_names, extra=none) -%}
    {%- if not execute or not is_incremental() -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set state = customer_lifecycle.stored_build_state(var_names, extra) -%}
    {{ return(none if state.empty or state.stale else state) }}
{%- endmacro %}

{#- Pre-hook: empty the table when its rows cannot be added to (other settings, or a later
    as_of_date than this run's), so the run rebuilds it whole instead of mixing two builds. -#}
{% macro reset_incremental_if_stale(var_names) -%}
    {%- if execute and is_incremental() and customer_lifecycle.stored_build_state(var_names).stale -%}
        {{ log(this ~ " was built with other settings or a later as_of_date: rebuilding it whole", info=true) }}
        delete from {{ this }}
    {%- endif -%}
{%- endmacro %}

{#- This run's number for `built_in_run`: one more than the stored rows', also when the table is
    rebuilt whole, so a downstream model's "rewritten since my last build" stays true. -#}
{% macro next_build_run() -%}
    {%- if not execute or not is_incremental() -%}
        {{ return(1) }}
    {%- endif -%}
    {%- set stored = run_query("select max(built_in_run) from " ~ this).rows[0][0] -%}
    {{ return(1 if stored is none else (stored | int) + 1) }}
{%- endmacro %}
