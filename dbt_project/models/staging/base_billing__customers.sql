-- A table, as the audience exports read it from the working database by another name than dbt's
{{ config(materialized='table') }}

with

source as (

    select * from {{ billing_table('customers') }}

),

ranked as (

    select
        *,
        -- the latest updated_at wins; on a tie, the copy from the file whose name sorts last,
        -- then the later row of that file
        row_number() over (
            partition by customer_id
            order by updated_at desc, _source_file desc, _source_row desc
        ) as copy_rank
    from source

),

final as (

    select
        customer_id,
        email,
        full_name,
        country,
        created_at,
        acquisition_channel,
        acquisition_campaign_id,
        updated_at,
        phone
    from ranked
    where copy_rank = 1

)

select * from final
