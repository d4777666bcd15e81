{#- The raw contract's customers from Stripe customers (docs/sources/stripe.md). -#}
with

customers as (

    select * from {{ ref('stg_stripe__customer') }}
    where rejection_reason is null

),

countries as (

    select * from {{ ref('countries') }}

),

final as (

    select
        customers.customer_id,
        customers.email,
        customers.customer_name as full_name,
        countries.country_code as country,
        coalesce(customers.created_at, customers._fivetran_synced) as created_at,
        customers.acquisition_channel,
        customers.acquisition_campaign_id,
        coalesce(customers.created_at, customers._fivetran_synced) as updated_at,
        customers.phone,
        customers._source_file,
        customers._source_row

    from customers
    left join countries on customers.country = countries.country_code

)

select * from final
