{#- The relation a staging model reads one raw input table from, chosen by configuration:
      raw_data_dir set -> <dir>/<name>.csv or <dir>/<name>.parquet, read as text (DuckDB only);
      raw_schema set   -> source('billing', <name>), tables loaded by the pipeline;
      otherwise        -> the bundled demo seed raw_<name>.
    Only the contract columns are selected, as text, so a staging model sees the same shape from
    every input, plus `source_file` and `source_line` (the line in the file: data rows start at line
    2, after the header) so a rejected row can be traced back. A missing optional table (required=false) yields no rows; a missing optional column
    yields nulls; a missing required table or column stops the build with a message naming both. -#}
{% macro raw_table(name, columns, required=true, required_columns=none) -%}
    {%- set required_columns = columns if required_columns is none else required_columns -%}
    {%- if var('raw_data_dir', none) is not none -%}
        {{ return(adapter.dispatch('raw_file', 'customer_lifecycle')(name, columns, required, required_columns)) }}
    {%- elif var('raw_schema', none) is not none -%}
        {%- set relation = source('billing', name) -%}
    {%- else -%}
        {%- set relation = ref('raw_' ~ name) -%}
    {%- endif -%}
    {#- A unit test gives the table's rows itself (its ref is a fixture, not a relation to look up). -#}
    {%- if execute and not required and model.resource_type != 'unit_test' and load_relation(relation) is none -%}
        {{ return(customer_lifecycle.empty_text_table(columns)) }}
    {%- endif -%}
    {%- set loaded_columns = [] -%}
    {%- if execute and var('raw_schema', none) is not none -%}
        {%- set loaded_columns = adapter.get_columns_in_relation(relation) | map(attribute='name') | map('lower') | list -%}
    {%- endif -%}
    {%- if '_source_line' in loaded_columns -%}
        {%- set file_expression = '_source_file' -%}
        {%- set line_expression = '_source_line' -%}
    {%- else -%}
        {%- set file_expression = "'" ~ (relation.identifier if var('raw_schema', none) is not none else 'seeds/' ~ relation.identifier ~ '.csv') ~ "'" -%}
        {%- set line_expression = customer_lifecycle.row_number_in_table_order() ~ ' + 1' -%}
    {%- endif -%}
    (select {% for column in columns %}cast({{ adapter.quote(column) }} as {{ dbt.type_string() }}) as {{ column }}, {% endfor %}cast({{ file_expression }} as {{ dbt.type_string() }}) as source_file, cast({{ line_expression }} as {{ dbt.type_bigint() }}) as source_line from {{ relation }}) as raw_rows
{%- endmacro %}

{% macro empty_text_table(columns) -%}
    (select {% for column in columns %}cast(null as {{ dbt.type_string() }}) as {{ column }}, {% endfor %}cast(null as {{ dbt.type_string() }}) as source_file, cast(null as {{ dbt.type_bigint() }}) as source_line where 1 = 0) as raw_rows
{%- endmacro %}

{% macro default__raw_file(name, columns, required, required_columns) -%}
    {{ exceptions.raise_compiler_error("raw_data_dir reads files with DuckDB; on " ~ target.type ~ " load the files into a schema and set raw_schema instead") }}
{%- endmacro %}

{% macro duckdb__raw_file(name, columns, required, required_columns) -%}
    {%- if not execute -%}
        {{ return(customer_lifecycle.empty_text_table(columns)) }}
    {%- endif -%}
    {%- set directory = var('raw_data_dir') | string | replace("'", "''") -%}
    {%- set found = run_query("select file from glob('" ~ directory ~ "/" ~ name ~ ".csv') union all select file from glob('" ~ directory ~ "/" ~ name ~ ".parquet') order by file") -%}
    {%- set files = found.columns[0].values() -%}
    {%- if files | length == 0 -%}
        {%- if required -%}
            {{ exceptions.raise_compiler_error("raw_data_dir: " ~ name ~ ".csv or " ~ name ~ ".parquet not found in " ~ var('raw_data_dir')) }}
        {%- endif -%}
        {{ return(customer_lifecycle.empty_text_table(columns)) }}
    {%- endif -%}
    {%- if files | length > 1 -%}
        {{ exceptions.raise_compiler_error("raw_data_dir: both " ~ name ~ ".csv and " ~ name ~ ".parquet are in " ~ var('raw_data_dir') ~ "; keep one") }}
    {%- endif -%}
    {%- set file = files[0] | replace("'", "''") -%}
    {%- if file.endswith('.csv') -%}
        {%- set reader = "read_csv('" ~ file ~ "', header = true, all_varchar = true, filename = '__source_file')" -%}
        {%- set line_expression = "row_number() over () + 1" -%}
    {%- else -%}
        {#- Parquet has no lines: source_line is the row number, from 1, read with the rows (no window). -#}
        {%- set reader = "read_parquet('" ~ file ~ "', filename = '__source_file', file_row_number = true)" -%}
        {%- set line_expression = "file_row_number + 1" -%}
    {%- endif -%}
    {%- set found_columns = run_query("select column_name from (describe select * from " ~ reader ~ ")").columns[0].values() | map('lower') | reject('in', ['__source_file', 'file_row_number']) | list -%}
    {#- The input mapping's `columns`: a contract column read from the export's column. -#}
    {%- set source_columns = {} -%}
    {%- for column in columns -%}
        {%- do source_columns.update({column: customer_lifecycle.mapped_column_name(name, column)}) -%}
    {%- endfor -%}
    {%- set missing = [] -%}
    {%- for column in required_columns if source_columns.get(column, column) not in found_columns -%}
        {%- do missing.append(column if source_columns[column] == column else column ~ ' (mapped to ' ~ source_columns[column] ~ ')') -%}
    {%- endfor -%}
    {%- if missing -%}
        {{ exceptions.raise_compiler_error(files[0] ~ ": missing column(s) " ~ missing | join(', ') ~ "; expected " ~ required_columns | join(', ') ~ "; found " ~ found_columns | join(', ')) }}
    {%- endif -%}
    (select {% for column in columns %}{% if source_columns[column] in found_columns %}cast({{ adapter.quote(source_columns[column]) }} as varchar){% else %}cast(null as varchar){% endif %} as {{ column }}, {% endfor %}__source_file as source_file, cast({{ line_expression }} as bigint) as source_line from {{ reader }}) as raw_rows
{%- endmacro %}

{#- A row number in the order the rows are stored (no ORDER BY of its own). -#}
{% macro row_number_in_table_order() -%}
    {{ return(adapter.dispatch('row_number_in_table_order', 'customer_lifecycle')()) }}
{%- endmacro %}

{% macro default__row_number_in_table_order() -%}
    row_number() over ()
{%- endmacro %}

{#- Spark requires an ORDER BY in a window with row_number(); monotonically_increasing_id() follows the
    order of files and rows within them. -#}
{% macro spark__row_number_in_table_order() -%}
    row_number() over (order by monotonically_increasing_id())
{%- endmacro %}
