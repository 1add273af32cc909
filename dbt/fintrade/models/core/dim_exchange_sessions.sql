-- One row per NYSE session: every weekday of the years the holiday seed covers, but the
-- exchange's weekday closures. Generated here rather than seeded day by day, so a build
-- reloads a few hundred holidays, not thousands of sessions.

with

exchange_holidays as (

    select * from {{ ref('exchange_holidays') }}

),

covered_years as (

    select
        cast({{ dbt.date_trunc('year', 'min(holiday_date)') }} as date) as first_date,
        {{ dbt.last_day('max(holiday_date)', 'year') }} as last_date

    from exchange_holidays

),

calendar_days as (

    select
        cast({{ date_series('first_date', 'last_date') }} as date) as calendar_date

    from covered_years

),

final as (

    select calendar_days.calendar_date as session_date

    from calendar_days
    where
        extract(isodow from calendar_days.calendar_date) < 6
        and not exists (
            select 1
            from exchange_holidays
            where exchange_holidays.holiday_date = calendar_days.calendar_date
        )

)

select * from final
