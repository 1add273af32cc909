with

source as (

    select * from {{ source('raw', 'dividends') }}

),

renamed as (

    select
        symbol,
        ex_dividend_date,
        amount as dividend_amount,
        declaration_date,
        record_date,
        payment_date,
        source as price_source,
        lake_key,
        loaded_at

    from source

)

select * from renamed
