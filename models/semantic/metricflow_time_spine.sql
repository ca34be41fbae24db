{#- MetricFlow's time spine (docs/metrics.md): one row per day from the first month with money to
    as_of_date, the days the monthly marts cover. Derived from int_reporting_window, never from the
    wall clock, and small (a few thousand rows even for decades of data). -#}
with

reporting_window as (

    select * from {{ ref('int_reporting_window') }}

),

months as (

    {{ month_series('first_month', 'as_of_month', 'reporting_window', keep_columns=true) }}

),

{#- Day 1 to 31 of a month; the days past its end are dropped below. -#}
days_of_month as (

    {{ dbt.generate_series(31) }}

),

days_spined as (

    select
        {{ add_days('months.month', 'cast(days_of_month.generated_number - 1 as integer)') }} as date_day,
        months.month,
        months.as_of_date
    from months
    cross join days_of_month

),

final as (

    select date_day
    from days_spined
    where
        date_day <= {{ month_last_day('month') }}
        and date_day <= as_of_date

)

select * from final
