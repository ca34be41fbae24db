{#- The input mapping (var `input_mapping`; docs/input-mapping.md): how an export that does not follow the
    input contract is read. Per input table (`payments`, `customers`, `marketing_spend`):
      columns          contract column -> the export's column name (applied where the file is read:
                       by the loader of `lifecycle`, or by raw_file with raw_data_dir)
      status           export status -> succeeded | failed | pending (compared trimmed, case-insensitively)
      refund_statuses  export statuses that are succeeded refunds: the amount becomes negative
      timestamp        formats tried in order: iso, epoch_seconds, epoch_milliseconds, strptime formats
      amount           {decimal: '.' | ',', thousands: ',' | '.' | ' ' | "'" | ''}
    Applied in staging while the text is typed, so the raw tables and the quarantine keep the export's
    text. Without the var (or with a table or key left out) every macro here renders exactly the SQL of
    the contract's parse. `marketing_spend` takes `columns` and `amount` (the spend's separators) only.
    DuckDB only: on another engine a set mapping stops the build. -#}

{#- The mapping of one input table (a dict, empty when there is none). -#}
{% macro input_mapping_for(table) -%}
    {%- set input_mapping = var('input_mapping', none) -%}
    {%- if input_mapping is none or input_mapping == {} or input_mapping == '' -%}
        {{ return({}) }}
    {%- endif -%}
    {%- if input_mapping is not mapping -%}
        {{ exceptions.raise_compiler_error("var input_mapping: expected a mapping with the keys payments, customers and/or marketing_spend, got " ~ input_mapping) }}
    {%- endif -%}
    {%- if target.type != 'duckdb' -%}
        {{ exceptions.raise_compiler_error("var input_mapping is applied with DuckDB only; on " ~ target.type ~ " load the tables with the contract's columns and values instead") }}
    {%- endif -%}
    {%- set table_mapping = input_mapping.get(table) or {} -%}
    {%- set known = {'payments': ['columns', 'status', 'refund_statuses', 'timestamp', 'amount'], 'customers': ['columns', 'timestamp'], 'marketing_spend': ['columns', 'amount']} -%}
    {%- for key in input_mapping if key not in known -%}
        {{ exceptions.raise_compiler_error("var input_mapping: unknown key " ~ key ~ "; expected payments, customers, marketing_spend") }}
    {%- endfor -%}
    {%- for key in table_mapping if key not in known[table] -%}
        {{ exceptions.raise_compiler_error("var input_mapping: unknown key " ~ table ~ "." ~ key ~ "; expected " ~ known[table] | join(', ')) }}
    {%- endfor -%}
    {{ return(table_mapping) }}
{%- endmacro %}

{#- A SQL text literal. -#}
{% macro mapping_literal(text) -%}
    '{{ text | string | replace("'", "''") }}'
{%- endmacro %}

{#- The export's column name a contract column is read from (lower case; DuckDB compares names
    case-insensitively). -#}
{% macro mapped_column_name(table, column) -%}
    {%- set renames = customer_lifecycle.input_mapping_for(table).get('columns') or {} -%}
    {{ return((renames.get(column) or column) | string | trim | lower) }}
{%- endmacro %}

{#- The status, lower case, mapped through the vocabulary; refund statuses become succeeded. A value the
    mapping does not list keeps its own meaning (accepted when it is a contract status). -#}
{% macro mapped_status(column, table_mapping) -%}
    {%- set vocabulary = table_mapping.get('status') or {} -%}
    {%- set refunds = table_mapping.get('refund_statuses') or [] -%}
    {%- if not vocabulary and not refunds -%}
    lower(trim({{ column }}))
    {%- else -%}
    case lower(trim({{ column }}))
        {%- for value in refunds %}
        when {{ customer_lifecycle.mapping_literal(value | string | trim | lower) }} then 'succeeded'
        {%- endfor %}
        {%- for value, status in vocabulary.items() %}
        {%- if status | string | trim | lower not in ['succeeded', 'failed', 'pending'] %}
        {{ exceptions.raise_compiler_error("var input_mapping: status " ~ value ~ " maps to " ~ status ~ ", not one of succeeded, failed, pending") }}
        {%- endif %}
        when {{ customer_lifecycle.mapping_literal(value | string | trim | lower) }} then {{ customer_lifecycle.mapping_literal(status | string | trim | lower) }}
        {%- endfor %}
        else lower(trim({{ column }}))
    end
    {%- endif -%}
{%- endmacro %}

{#- The amount, parsed with the mapping's separators; a row whose status is a refund status gets the
    amount's negative (-abs: a refund already written negative stays negative). -#}
{% macro mapped_amount(column, status_column, table_mapping) -%}
    {%- set amount = customer_lifecycle.mapped_money(column, table_mapping.get('amount')) -%}
    {%- set refunds = table_mapping.get('refund_statuses') or [] -%}
    {%- if not refunds -%}
    {{ amount }}
    {%- else -%}
    case
        when lower(trim({{ status_column }})) in ({% for value in refunds %}{{ customer_lifecycle.mapping_literal(value | string | trim | lower) }}{{ ', ' if not loop.last }}{% endfor %})
            then -abs({{ amount }})
        else {{ amount }}
    end
    {%- endif -%}
{%- endmacro %}

{#- parse_money after the separators are checked and removed: the thousands separator only between
    groups of three digits (so "12,50" is not read as 1250 when ',' separates thousands), the decimal
    separator at most once. Text that does not fit is not a number (invalid_amount). -#}
{% macro mapped_money(column, separators) -%}
    {%- set separators = separators or {} -%}
    {%- set decimal = separators.get('decimal') or '.' -%}
    {%- set thousands = separators.get('thousands') or '' -%}
    {%- if decimal == '.' and thousands == '' -%}
    {{ customer_lifecycle.parse_money(column) }}
    {%- else -%}
    {%- set regex_escaped = {'.': '\\.', ',': ',', ' ': ' ', "'": "'"} -%}
    {%- if decimal not in ['.', ','] or (thousands != '' and thousands not in regex_escaped) or decimal == thousands -%}
        {{ exceptions.raise_compiler_error("var input_mapping: amount separators decimal=" ~ decimal ~ " thousands=" ~ thousands ~ " are not supported; decimal is '.' or ',', thousands one of , . space ' or none, and they differ") }}
    {%- endif -%}
    {%- set d = regex_escaped[decimal] -%}
    {%- if thousands == '' -%}
        {%- set pattern = '[+-]?(\\d+(' ~ d ~ '\\d*)?|' ~ d ~ '\\d+)' -%}
    {%- else -%}
        {%- set pattern = '[+-]?((\\d{1,3}(' ~ regex_escaped[thousands] ~ '\\d{3})+|\\d+)(' ~ d ~ '\\d*)?|' ~ d ~ '\\d+)' -%}
    {%- endif -%}
    {%- set text = customer_lifecycle.spaces_trimmed(column) -%}
    {%- set plain = text if thousands == '' else 'replace(' ~ text ~ ', ' ~ customer_lifecycle.mapping_literal(thousands) ~ ", '')" -%}
    {%- set plain = plain if decimal == '.' else 'replace(' ~ plain ~ ", ',', '.')" -%}
    {{ customer_lifecycle.parse_money('(case when regexp_full_match(' ~ text ~ ', ' ~ customer_lifecycle.mapping_literal(pattern) ~ ') then ' ~ plain ~ ' end)') }}
    {%- endif -%}
{%- endmacro %}

{#- The timestamp (UTC, without time zone), trying the mapping's formats in order; the contract's ISO
    parse when the mapping gives none. Naive text is UTC; a strptime format with %z or %Z is converted
    to UTC. -#}
{% macro mapped_timestamp_utc(column, table_mapping) -%}
    {%- set formats = table_mapping.get('timestamp') or [] -%}
    {%- if formats is string -%}
        {%- set formats = [formats] -%}
    {%- endif -%}
    {%- if formats | length == 0 -%}
    {{ customer_lifecycle.parse_timestamp_utc(column) }}
    {%- else -%}
    {%- set text = customer_lifecycle.spaces_trimmed(column) -%}
    {%- set parsers = [] -%}
    {%- for format in formats -%}
        {%- set keyword = format | string | trim | lower -%}
        {%- if keyword == 'iso' -%}
            {%- do parsers.append(customer_lifecycle.parse_timestamp_utc(column)) -%}
        {%- elif keyword == 'epoch_seconds' -%}
            {%- do parsers.append("case when regexp_full_match(" ~ text ~ ", '[+-]?\\d{1,12}(\\.\\d{1,6})?') then make_timestamp(cast(cast(" ~ text ~ " as decimal(38, 6)) * 1000000 as bigint)) end") -%}
        {%- elif keyword == 'epoch_milliseconds' -%}
            {%- do parsers.append("case when regexp_full_match(" ~ text ~ ", '[+-]?\\d{1,15}') then make_timestamp(cast(" ~ text ~ " as bigint) * 1000) end") -%}
        {%- elif '%' in format -%}
            {%- if '%z' in format or '%Z' in format -%}
                {%- do parsers.append("timezone('UTC', try_strptime(" ~ text ~ ", " ~ customer_lifecycle.mapping_literal(format) ~ "))") -%}
            {%- else -%}
                {%- do parsers.append("try_strptime(" ~ text ~ ", " ~ customer_lifecycle.mapping_literal(format) ~ ")") -%}
            {%- endif -%}
        {%- else -%}
            {{ exceptions.raise_compiler_error("var input_mapping: unknown timestamp format " ~ format ~ "; expected iso, epoch_seconds, epoch_milliseconds or a strptime format") }}
        {%- endif -%}
    {%- endfor -%}
    {%- if parsers | length == 1 -%}
    {{ parsers[0] }}
    {%- else -%}
    coalesce(
        {%- for parser in parsers %}
        {{ parser }}{{ ',' if not loop.last }}
        {%- endfor %}
    )
    {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#- stg_billing__customers stores parsed timestamps, so its rows keep the fingerprint of the input_mapping
    var they were typed with (`build_settings`). Whether this incremental run has another mapping than
    the stored rows (a table stored before the column existed was typed without one): then
    customers_read_so_far has the model type every row again, and its pre-hook empties the table. -#}
{% macro customers_mapping_changed() -%}
    {%- if not execute or not is_incremental() -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set current = customer_lifecycle.fingerprint(customer_lifecycle.build_settings(['input_mapping'])) -%}
    {%- set columns = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list -%}
    {%- if 'build_settings' not in columns -%}
        {{ return(current != customer_lifecycle.fingerprint(customer_lifecycle.build_settings_without_mapping())) }}
    {%- endif -%}
    {%- set stored = customer_lifecycle.stored_settings(this) -%}
    {{ return(stored is not none and stored != current) }}
{%- endmacro %}

{#- First pre-hook of stg_billing__customers: a table stored before the column build_settings existed
    gets it (its rows were typed without a mapping), so an existing warehouse needs no --full-refresh;
    the second pre-hook (empty_customers_if_rebuilding) then empties it if its rows must be typed again. -#}
{% macro add_customers_build_settings() -%}
    {%- if customer_lifecycle.builds_models() and is_incremental() -%}
        {%- set columns = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list -%}
        {%- if 'build_settings' not in columns %}
            alter table {{ this }} add column build_settings {{ dbt.type_bigint() }} default {{ customer_lifecycle.fingerprint(customer_lifecycle.build_settings_without_mapping()) }};
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#- build_settings(['input_mapping']) of a build without the var. -#}
{% macro build_settings_without_mapping() -%}
    {{ return('input_mapping=None') }}
{%- endmacro %}
