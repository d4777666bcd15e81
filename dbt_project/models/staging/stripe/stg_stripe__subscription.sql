{#-
    Every version of every subscription: the history-mode table's versions (valid from
    _fivetran_start), or, for a connection without history mode, the one current row (valid from
    its creation). Both tables may be landed; history wins for a subscription it holds (the
    current row is then left out, with that reason).
-#}
with

history as (

    select
        *,
        _fivetran_start as version_from,
        false as is_in_history

    from {{ source('stripe', 'subscription_history') }}

),

history_ids as (

    select distinct id from {{ source('stripe', 'subscription_history') }}

),

current_only as (

    select
        current_rows.*,
        coalesce(current_rows.start_date, current_rows.created) as version_from,
        history_ids.id is not null as is_in_history

    from {{ source('stripe', 'subscription') }} as current_rows
    left join history_ids on current_rows.id = history_ids.id

),

versions as (

    select * from history

    union all

    select * from current_only

),

final as (

    select
        id as subscription_id,
        customer_id,
        status,
        coalesce(start_date, created) as started_at,
        version_from,
        current_period_start,
        current_period_end,
        coalesce(cancel_at_period_end, false) as is_cancel_at_period_end,
        canceled_at,
        ended_at,
        trial_start,
        trial_end,
        pause_collection_behavior,
        cancellation_details_reason,
        cancellation_details_feedback,
        _source_file,
        _source_row,
        case
            when is_in_history then 'subscription_history holds this subscription, and is read'
            else coalesce(
                {{ superseded_reason('id, version_from, is_in_history') }},
                case
                    when not coalesce(livemode, true) then 'a test-mode object (livemode false)'
                end
            )
        end as rejection_reason

    from versions

)

select * from final
