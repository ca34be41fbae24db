{#- Called from on-run-start (dbt_project.yml): stops any dbt command that builds with a var the models
    cannot use, with a message naming the var and its value, before a model is compiled. Pure Jinja, no
    query. The same rules as `lifecycle run`'s own checks (scripts/lifecycle/settings.py):
      churn_inactivity_days  a whole number of days, 1 to 3650
      as_of_date             unset, or a real date YYYY-MM-DD from 1970-01-01 to 2100-12-31
      reporting_timezone     a plain zone name such as UTC or Europe/Berlin (letters, digits, _ + - and
                             up to two slashes); DuckDB itself then says whether it knows the zone
      raw_data_dir           no glob characters (* ? [ ] { }): macros/raw_table.sql finds and reads the
                             files with DuckDB's glob() and read_csv(), which would expand them
      store_customer_marts   true or false
    The messages start with "invalid setting:", which `lifecycle run` reports as a usage error. -#}
{% macro validate_settings() -%}
    {%- set re = modules.re -%}
    {%- set days = var('churn_inactivity_days', 90) -%}
    {%- set days_text = days | string | trim -%}
    {%- if days is sameas true or days is sameas false or not re.fullmatch('[0-9]{1,4}', days_text)
        or (days_text | int) < 1 or (days_text | int) > 3650 -%}
        {{ exceptions.raise_compiler_error(
            "invalid setting: churn_inactivity_days = " ~ days_text ~ " is not allowed; give a whole number of days from 1 to 3650"
        ) }}
    {%- endif -%}
    {%- set as_of = var('as_of_date', none) -%}
    {%- if as_of is not none -%}
        {%- set as_of_text = as_of | string -%}
        {%- set parts = re.fullmatch('([0-9]{4})-([0-9]{2})-([0-9]{2})', as_of_text) -%}
        {%- set valid = false -%}
        {%- if parts -%}
            {%- set year, month, day = parts.group(1) | int, parts.group(2) | int, parts.group(3) | int -%}
            {%- set leap = (year % 4 == 0 and year % 100 != 0) or year % 400 == 0 -%}
            {%- set month_days = [31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] -%}
            {%- set valid = 1970 <= year <= 2100 and 1 <= month <= 12 and 1 <= day <= month_days[month - 1] -%}
        {%- endif -%}
        {%- if not valid -%}
            {{ exceptions.raise_compiler_error(
                "invalid setting: as_of_date = " ~ as_of_text ~ " is not allowed; give a date YYYY-MM-DD from 1970-01-01 to 2100-12-31"
            ) }}
        {%- endif -%}
    {%- endif -%}
    {%- set raw_data_dir = var('raw_data_dir', none) -%}
    {%- if raw_data_dir is not none and re.search('[*?\\[\\]{}]', raw_data_dir | string) -%}
        {{ exceptions.raise_compiler_error(
            "invalid setting: raw_data_dir = " ~ raw_data_dir ~ " contains a glob character (* ? [ ] { }), which DuckDB would expand and read other files; rename the folder or point raw_data_dir at a symlink to it without them"
        ) }}
    {%- endif -%}
    {%- set zone = var('reporting_timezone', 'UTC') | string -%}
    {%- if not re.fullmatch('[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+){0,2}', zone) -%}
        {{ exceptions.raise_compiler_error(
            "invalid setting: reporting_timezone = " ~ zone ~ " is not allowed; give an IANA zone name such as UTC or Europe/Berlin"
        ) }}
    {%- endif -%}
    {%- set store = var('store_customer_marts', false) -%}
    {%- if store is not sameas true and store is not sameas false -%}
        {{ exceptions.raise_compiler_error(
            "invalid setting: store_customer_marts = " ~ store ~ " is not allowed; give true or false"
        ) }}
    {%- endif -%}
    {{- customer_lifecycle.validate_segment_settings() -}}
{%- endmacro %}
