{#- The raw contract's customers from Chargebee customers (docs/sources/chargebee.md). -#}
with

customers as (

    select * from {{ ref('stg_chargebee__customer') }}
    where rejection_reason is null

),

countries as (

    select * from {{ ref('countries') }}

),

final as (

    select
        customers.customer_id,
        customers.email,
        customers.full_name,
        countries.country_code as country,
        customers.created_at,
        customers.acquisition_channel,
        customers.acquisition_campaign_id,
        customers.updated_at,
        customers.phone,
        customers._source_file,
        customers._source_row

    from customers
    left join countries on customers.country = countries.country_code

)

select * from final
