with

accounts as (

    select * from {{ ref('stg_accounts') }}

),

final as (

    select
        account_id,
        user_name,
        email,
        account_type,
        balance,
        created_at

    from accounts

)

select * from final
