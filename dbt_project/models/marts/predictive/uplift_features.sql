{#-
    One row per campaign assignment of a customer paying at the assignment: the churn model's
    point-in-time features at the instant the arms were drawn, the arm, and the outcome the
    uplift model learns (still paying one churn horizon later; null while the horizon runs).
    A customer not paying at the assignment has no features and no outcome to learn from.
-#}
{%- set cutoffs -%}
    select distinct
        cast(null as {{ dbt.type_int() }}) as cutoffs_before_as_of,
        assigned.assigned_at as cutoff_at,
        as_of.as_of_at
    from {{ ref('stg_marketing__campaign_assignments') }} as assigned
    cross join as_of
{%- endset -%}

with

assignments as (

    select * from {{ ref('stg_marketing__campaign_assignments') }}

),

features as (

    {{ point_in_time_features(cutoffs) }}

),

final as (

    select
        assignments.assignment_id,
        assignments.campaign_id,
        assignments.audience,
        assignments.arm,
        assignments.offer,
        assignments.offer_discount_pct,
        assignments.offer_months,
        assignments.assigned_at,
        not features.is_churned_within_horizon as is_retained_within_horizon,
        features.*

    from assignments
    inner join features
        on
            assignments.customer_id = features.customer_id
            and assignments.assigned_at = features.cutoff_at

)

select * from final
