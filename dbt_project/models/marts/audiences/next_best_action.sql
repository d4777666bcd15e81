{#-
    One recommended action per paying subscriber, the one worth most (docs/metrics.md, Next best
    action): a retention offer is worth its uplift (P(saved by the offer)) × predicted value −
    the discount expected to be redeemed, and only where the uplift is positive; an upsell prompt
    (upsell audience) and a dunning outreach (dunning audience) are worth the shares of the
    predicted value the vars state. Nothing is an answer: no action worth more than 0.
-#}
{%- set offer = var('audience_offers')['retention_offer'] -%}

with

segments as (

    select * from {{ ref('customer_segments') }}

),

uplift as (

    select * from {{ source('predictive', 'uplift_scores') }}

),

upsell as (

    select customer_id from {{ ref('audience_upsell') }}

),

dunning as (

    select customer_id from {{ ref('audience_dunning') }}

),

subscribers as (

    select * from {{ ref('dim_subscribers') }}

),

valued as (

    select
        segments.customer_id,
        segments.predicted_clv,
        segments.top_factors,
        uplift.uplift,
        uplift.retention_if_treated,
        uplift.retention_if_not,
        -- the discount is redeemed by those who stay
        uplift.retention_if_treated * uplift.mrr
        * {{ offer['discount_pct'] }} / 100.0 * {{ offer['months'] }} as offer_cost,
        case
            when upsell.customer_id is not null
                then
                    {{ var('upsell_conversion_rate') }} * {{ var('upsell_expansion_share') }}
                    * segments.predicted_clv
        end as upsell_prompt_value,
        case
            when dunning.customer_id is not null
                then {{ var('dunning_recovery_rate') }} * segments.predicted_clv
        end as dunning_outreach_value

    from segments
    left join uplift on segments.customer_id = uplift.customer_id
    left join upsell on segments.customer_id = upsell.customer_id
    left join dunning on segments.customer_id = dunning.customer_id

),

priced as (

    select
        *,
        case
            when uplift > 0 then uplift * predicted_clv - offer_cost
        end as retention_offer_value

    from valued

),

chosen as (

    select
        *,
        case
            when
                coalesce(dunning_outreach_value, 0) > 0
                and coalesce(dunning_outreach_value, 0) >= coalesce(retention_offer_value, 0)
                and coalesce(dunning_outreach_value, 0) >= coalesce(upsell_prompt_value, 0)
                then 'dunning_outreach'
            when
                coalesce(retention_offer_value, 0) > 0
                and coalesce(retention_offer_value, 0) >= coalesce(upsell_prompt_value, 0)
                then 'retention_offer'
            when coalesce(upsell_prompt_value, 0) > 0 then 'upsell_prompt'
            else 'nothing'
        end as action  -- noqa: RF04

    from priced

),

final as (

    select
        chosen.customer_id,
        chosen.action,
        {{ money(
            "case chosen.action"
            ~ " when 'dunning_outreach' then chosen.dunning_outreach_value"
            ~ " when 'retention_offer' then chosen.retention_offer_value"
            ~ " when 'upsell_prompt' then chosen.upsell_prompt_value else 0 end"
        ) }} as expected_value,
        {{ money('chosen.retention_offer_value') }} as retention_offer_value,
        {{ money('chosen.upsell_prompt_value') }} as upsell_prompt_value,
        {{ money('chosen.dunning_outreach_value') }} as dunning_outreach_value,
        chosen.uplift,
        chosen.retention_if_treated,
        chosen.retention_if_not,
        chosen.predicted_clv,
        '{{ offer["name"] }}' as offer,
        {{ money('chosen.offer_cost') }} as offer_cost,
        case chosen.action
            when 'retention_offer' then {{ dbt.concat([
                "'the offer raises 90-day retention by '",
                as_text('round(100 * chosen.uplift, 1)'), "' points ('",
                as_text('round(100 * chosen.retention_if_treated, 1)'), "'% offered, '",
                as_text('round(100 * chosen.retention_if_not, 1)'), "'% not) of a predicted '",
                as_text(money('chosen.predicted_clv')), "', less '",
                as_text(money('chosen.offer_cost')), "' expected discount'",
            ]) }}
            when 'dunning_outreach' then {{ dbt.concat([
                "'a failed payment is open: an outreach recovers '",
                as_text('cast(round(100 * ' ~ var('dunning_recovery_rate') ~ ') as integer)'),
                "'% of a predicted '", as_text(money('chosen.predicted_clv')),
            ]) }}
            when 'upsell_prompt' then {{ dbt.concat([
                "'usage well above its baseline: an upsell prompt is worth '",
                as_text(money('chosen.upsell_prompt_value')),
            ]) }}
            when 'nothing' then
                case
                    when chosen.uplift < 0 then {{ dbt.concat([
                        "'contact lowers 90-day retention by '",
                        as_text('round(-100 * chosen.uplift, 1)'),
                        "' points: not contacted'",
                    ]) }}
                    when chosen.uplift is null then 'no uplift model: no campaign to learn from'
                    else 'no action is worth its cost'
                end
        end as reason,
        chosen.top_factors as churn_factors,
        cast(subscribers.as_of_at as date) as as_of_date,
        {{ audience_columns() }}

    from chosen
    inner join subscribers on chosen.customer_id = subscribers.customer_id

)

select * from final
