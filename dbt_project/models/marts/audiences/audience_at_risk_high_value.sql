with

segments as (

    select * from {{ ref('customer_segments') }}

),

subscribers as (

    select * from {{ ref('dim_subscribers') }}

),

final as (

    select
        segments.customer_id,
        {{ dbt.concat([
            "'predicted value '", as_text('segments.predicted_clv'),
            "', churn risk '", as_text('cast(round(100 * segments.churn_probability) as integer)'),
            "'%: '", 'segments.top_factors',
        ]) }} as reason,
        {{ audience_columns() }}

    from segments
    inner join subscribers on segments.customer_id = subscribers.customer_id
    where segments.value_tier = 'high' and segments.risk_tier = 'high'

)

select * from final
