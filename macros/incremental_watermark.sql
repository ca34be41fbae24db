{#- For an incremental staging model over one append-only input table: how far the input was loaded
    (`last_line`, the highest source_line in the model) and the number of this run's batch
    (`next_batch`). Stops the run when the input no longer starts with the rows already loaded (it has
    fewer rows than were loaded, or the last loaded row changed): such an input was rewritten, not
    appended to, and needs --full-refresh; so do rows built with other `settings` (the vars they
    depend on). -#}
{% macro incremental_watermark(name, columns, settings) -%}
    {%- if not execute -%}
        {{ return({'last_line': 0, 'next_batch': 1}) }}
    {%- endif -%}
    {%- set loaded = run_query(
        "select count(*), coalesce(max(source_line), 0), coalesce(max(load_batch), 0), min(build_settings), max(build_settings) from " ~ this
    ).rows[0] -%}
    {%- set loaded_rows, last_line, last_batch = loaded[0] | int, loaded[1] | int, loaded[2] | int -%}
    {%- if loaded_rows > 0 and (loaded[3] != settings or loaded[4] != settings) -%}
        {{ exceptions.raise_compiler_error(
            this ~ " was built with " ~ loaded[3] ~ ", this run uses " ~ settings ~ "; rebuild with --full-refresh"
        ) }}
    {%- endif -%}
    {%- if loaded_rows == 0 -%}
        {{ return({'last_line': 0, 'next_batch': last_batch + 1}) }}
    {%- endif -%}
    {#- The last loaded row is recognized by its first column (the id), as stored: its text when the
        row was set aside, its trimmed value otherwise. -#}
    {%- set key = columns[0] -%}
    {%- set fingerprint = ["coalesce(nullif(trim(" ~ key ~ "), ''), '<null>')"] -%}
    {%- set stored = ["coalesce(nullif(trim(coalesce(raw_" ~ key ~ ", " ~ key ~ ")), ''), '<null>')"] -%}
    {%- set checked = run_query(
        "select input_rows, input_last_row, stored_last_row from"
        ~ " (select count(*) as input_rows, max(case when source_line = " ~ last_line ~ " then "
        ~ dbt.concat(fingerprint) ~ " end) as input_last_row from " ~ customer_lifecycle.raw_table(name, columns) ~ ") as input"
        ~ " cross join (select max(" ~ dbt.concat(stored) ~ ") as stored_last_row from " ~ this
        ~ " where source_line = " ~ last_line ~ ") as stored"
    ).rows[0] -%}
    {%- set input_rows, input_last_row, stored_last_row = checked[0] | int, checked[1], checked[2] -%}
    {%- if input_rows < loaded_rows or input_last_row != stored_last_row -%}
        {{ exceptions.raise_compiler_error(
            name ~ ": the input is not the earlier input with rows appended (" ~ input_rows ~ " rows now, "
            ~ loaded_rows ~ " loaded before, or the row at line " ~ last_line ~ " changed); rebuild with --full-refresh"
        ) }}
    {%- endif -%}
    {{ return({'last_line': last_line, 'next_batch': last_batch + 1}) }}
{%- endmacro %}
