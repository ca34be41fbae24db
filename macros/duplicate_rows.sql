{#- The later rows of a raw input whose id occurs on an earlier row: one row per such row, with its
    `source_line` and `is_exact` (every other column holds the same text as on the first row with the
    id; else it conflicts). The first row with an id is kept, even when it is set aside for another
    reason.

    Duplicates are rare: their ids are found with an aggregate over the id column alone, and only
    their rows are compared, so no window runs over every row. With `after_line`, only ids of rows
    past that line are looked for, among all rows, so a new row with the id of an old one is a
    duplicate of it.

    `raw_rows`: a raw_table() relation; `id_column`: its id column; `other_columns`: the columns
    compared. -#}
{% macro duplicate_rows(raw_rows, id_column, other_columns, after_line=none) -%}
{%- set id = customer_lifecycle.trimmed_text(id_column) -%}
{%- set compared = [] -%}
{%- for column in other_columns %}{% do compared.append('raw_rows.' ~ column) %}{% endfor -%}
with

repeated_ids as (

    select
        {{ id }} as id,
        min(source_line) as first_line
    from {{ raw_rows }}
    where
        {{ id }} is not null
        {%- if after_line is none %}
        and {{ customer_lifecycle.may_repeat(id, raw_rows) }}
        {%- else %}
        and {{ id }} in (
            select {{ id }} from {{ raw_rows }} where source_line > {{ after_line }}
        )
        {%- endif %}
    group by {{ id }}
    having count(*) > 1

),

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
