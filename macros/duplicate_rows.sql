{#- The later rows of a raw input whose id occurs on an earlier row: one row per such row, with its
    `source_line` and `is_exact` (every other column holds the same text as on the first row with the
    id; else it conflicts). The first row with an id is kept, even when it is set aside for another
    reason.

    Duplicates are rare: their ids are found from the id column alone (may_repeat, then an aggregate
    over the candidates), and only their rows are compared. With `after_line`, only ids of rows past
    that line are looked for, among all rows, so a new row with the id of an old one is a duplicate
    of it. Those rows are found in two parts: rows whose id text is a new id as it stands, a filter
    on the column itself that engines push into the scan (DuckDB then reads only the row groups
    whose range of ids holds a new one; docs/decisions.md, "Where the time goes"), and rows whose
    text has spaces around it, which are trimmed first.

    `raw_rows`: a raw_table() relation; `id_column`: its id column; `other_columns`: the columns
    compared. -#}
{% macro duplicate_rows(raw_rows, id_column, other_columns, after_line=none) -%}
{%- set id = customer_lifecycle.trimmed_text(id_column) -%}
{%- set compared = [] -%}
{%- for column in other_columns %}{% do compared.append('raw_rows.' ~ column) %}{% endfor -%}
with

{% if after_line is none -%}
repeated_ids as (

    select
        {{ id }} as id,
        min(source_line) as first_line
    from {{ raw_rows }}
    where
        {{ id }} is not null
        and {{ customer_lifecycle.may_repeat(id, raw_rows) }}
    group by {{ id }}
    having count(*) > 1

),
{%- else -%}
new_ids as (

    select {{ id }} as id from {{ raw_rows }} where source_line > {{ after_line }}

),

repeated_ids as (

    select
        id,
        min(source_line) as first_line
    from (
        select {{ id_column }} as id, source_line from {{ raw_rows }}
        where {{ id_column }} in (select id from new_ids)
        union all
        select {{ id }} as id, source_line from {{ raw_rows }}
        where
            {{ id_column }} <> {{ customer_lifecycle.spaces_trimmed(id_column) }}
            and {{ id }} in (select id from new_ids)
    ) as rows_with_new_ids
    group by id
    having count(*) > 1

),
{%- endif %}

repeated_rows as (

    select
        raw_rows.source_line,
        repeated_ids.first_line,
        {{ row_fingerprint(compared) }} as fingerprint
    from {{ raw_rows }}
    inner join repeated_ids
        on {{ customer_lifecycle.trimmed_text('raw_rows.' ~ id_column) }} = repeated_ids.id

),

duplicates as (

    select
        later.source_line,
        later.fingerprint = first_row.fingerprint as is_exact
    from repeated_rows as later
    inner join repeated_rows as first_row
        on later.first_line = first_row.source_line
    where later.source_line > later.first_line

)

select source_line, is_exact from duplicates
{%- endmacro %}
