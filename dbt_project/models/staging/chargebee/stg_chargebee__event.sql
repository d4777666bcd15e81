{#-
    Chargebee's subscription events, each with the whole subscription right after it (its
    content). An event whose resource_version is below one of an earlier-occurred event of the
    same subscription is out of order — its content cannot be the state after it — and is left
    out, with that reason; so are other objects' events (customers, invoices…): the objects'
    own tables hold those.
-#}
with

source as (

    select * from {{ source('chargebee', 'event') }}

),

parsed as (

    select
        id as event_id,
        occurred_at,
        event_type,
        {{ json_text('content', '$.subscription.id') }} as subscription_id,
        {{ json_text('content', '$.subscription.customer_id') }} as customer_id,
        {{ json_text('content', '$.subscription.status') }} as status,
        upper({{ json_text('content', '$.subscription.currency_code') }}) as currency,
        {{ json_text('content', '$.subscription.subscription_items') }} as subscription_items,
        {{ json_text('content', '$.subscription.coupons') }} as coupons,
        {{ json_text('content', '$.subscription.cancel_reason') }} as cancel_reason,
        {{ json_text('content', '$.subscription.cancel_reason_code') }} as cancel_reason_code,
        cast({{ json_text('content', '$.subscription.resource_version') }} as bigint)
            as resource_version,
        _source_file,
        _source_row

    from source

),

ordered as (

    select
        *,
        max(resource_version) over (
            partition by subscription_id
            order by occurred_at, resource_version
            rows between unbounded preceding and 1 preceding
        ) as earlier_resource_version,
        {{ superseded_reason('event_id', 'occurred_at') }} as superseded

    from parsed

),

final as (

    select
        event_id,
        occurred_at,
        event_type,
        subscription_id,
        customer_id,
        status,
        currency,
        subscription_items,
        coupons,
        cancel_reason,
        cancel_reason_code,
        resource_version,
        _source_file,
        _source_row,
        case
            when superseded is not null then 'a second copy of event ' || event_id
            when subscription_id is null
                then 'not a subscription event: ' || event_type || ' (its object has its own table)'
            when resource_version < earlier_resource_version
                then
                    'out of order: resource_version ' || {{ as_text('resource_version') }}
                    || ' is below that of an earlier event of the subscription ('
                    || {{ as_text('earlier_resource_version') }} || ')'
        end as rejection_reason

    from ordered

)

select * from final
