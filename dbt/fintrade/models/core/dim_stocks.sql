with

stocks as (

    select * from {{ ref('stg_stocks') }}

),

final as (

    select
        symbol,
        company_name,
        sector,
        exchange,
        currency,
        is_active

    from stocks

)

select * from final
