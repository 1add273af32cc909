-- The last pipeline run as a reader of marts sees it: each symbol's latest price load on the
-- latest logical date, so a dashboard on the analyst role (marts only) can mark failed and
-- stale symbols without reading raw.
with

ingest_runs as (

    select * from {{ ref('stg_ingest_runs') }}

),

price_loads as (

    select *
    from ingest_runs
    where
        dataset = 'prices'
        and run_status in ('loaded', 'stale', 'failed')

),

last_logical_date as (

    select max(logical_date) as logical_date
    from price_loads

),

last_date_loads as (

    select
        price_loads.logical_date,
        price_loads.symbol,
        price_loads.run_status,
        price_loads.error_message,
        price_loads.rows_loaded,
        price_loads.rows_rejected,
        price_loads.started_at,
        price_loads.finished_at

    from price_loads
    inner join last_logical_date
        on price_loads.logical_date = last_logical_date.logical_date

),

-- The latest start wins; two attempts started in the same microsecond are told apart by when
-- they finished (a running one first) and then by status, so every engine keeps the same one.
latest_attempts as (

    {{
        first_row_per(
            'last_date_loads',
            ['symbol'],
            ['started_at desc', 'finished_at desc nulls first', 'run_status asc']
        )
    }}

)

select * from latest_attempts
