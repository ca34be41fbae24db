{#- The lifecycle-state snapshot in business time (snapshots/snp_customer_lifecycle_states.sql). -#}

{#- dbt stamps a version closed by a hard delete with snapshot_get_time(), the wall clock by default:
    here it is as_of_date, like every other version stamp, so history stays reproducible and no
    version ends before it starts. dbt finds this one first (`dispatch` in dbt_project.yml); the
    snapshot is the only caller. -#}
{% macro default__snapshot_get_time() -%}
    (select cast(as_of_date as {{ dbt.type_timestamp() }}) from {{ ref('int_reporting_window') }})
{%- endmacro %}

{#- Whether the snapshot already holds a version stamped after this build's as_of_date (as_of_date
    moved back): then the build leaves the history as it is, and says so. -#}
{% macro history_is_ahead_of_as_of_date() -%}
    {%- if not execute or load_relation(this) is none -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set found = run_query(
        "select cast(max(dbt_valid_from) as date), (select as_of_date from " ~ ref('int_reporting_window') ~ ") from " ~ this
    ).rows[0] -%}
    {%- set ahead = found[0] is not none and found[1] is not none and found[0] > found[1] -%}
    {%- if ahead -%}
        {{ log("lifecycle: as_of_date " ~ found[1] ~ " is before the latest lifecycle-state version ("
            ~ found[0] ~ "): the history in " ~ this ~ " is left as it is", info=true) }}
    {%- endif -%}
    {{ return(ahead) }}
{%- endmacro %}
