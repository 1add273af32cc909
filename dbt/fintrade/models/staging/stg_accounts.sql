with

source as (

    select * from {{ source('raw', 'accounts') }}

),

renamed as (

    select
        account_id,
        user_name,
        email,
        lower(account_type) as account_type,
        balance,
        created_at,
        loaded_at

    from source

)

select * from renamed
