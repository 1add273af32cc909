with

source as (

    select * from {{ source('raw', 'ingest_runs') }}

),

renamed as (

    select
        logical_date,
        symbol,
        dataset,
        source as price_source,
        status as run_status,
        rows_loaded,
        rows_rejected,
        error as error_message,
        started_at,
        finished_at

    from source

)

select * from renamed
