with

cash_movements as (

    select * from {{ ref('stg_cash_movements') }}

),

final as (

    select
        movement_id,
        account_id,
        movement_type,
        amount,
        cast(
            case when movement_type = 'deposit' then amount else -amount end
            as {{ decimal_type(18, 2) }}
        ) as cash_change,
        moved_at,
        movement_date

    from cash_movements

)

select * from final
