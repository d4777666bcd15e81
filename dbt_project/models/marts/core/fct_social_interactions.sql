with

interactions as (

    select * from {{ ref('stg_crm__social_interactions') }}

),

final as (

    select
        interaction_id,
        customer_id,
        platform,
        handle,
        interaction_type,
        cast(sentiment_score as double) as sentiment_score,
        occurred_at,
        customer_id is not null as is_matched

    from interactions

)

select * from final
