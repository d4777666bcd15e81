{#-
    The raw contract's subscription events from a billing source's states: `states` is a CTE with
    one row per native subscription and instant (native_subscription_id, customer_id,
    changed_at, status, plan_id, quantity, unit_amount, discount_pct, currency, cancel_reason,
    _source_file, _source_row), the full state from that instant on. Emits a row where the state
    differs from the one before (the first always), typed by what changed; event_id =
    <native subscription>@<instant>.
-#}
{% macro native_subscription_events(states) -%}

    select
        event_id,
        subscription_id,
        customer_id,
        event_type,
        status,
        occurred_at,
        plan_id,
        quantity,
        unit_amount,
        discount_pct,
        currency,
        cancel_reason,
        _source_file,
        _source_row

    from (
        select
            native_subscription_id || '@' || {{ as_text('changed_at') }} as event_id,
            native_subscription_id as subscription_id,
            customer_id,
            case
                when previous_status is null and status = 'trialing' then 'trial_started'
                when previous_status is null then 'created'
                when status = 'canceled' and previous_status <> 'canceled' then 'canceled'
                when previous_status = 'canceled' and status <> 'canceled' then 'reactivated'
                when status = 'paused' and previous_status <> 'paused' then 'paused'
                when previous_status = 'paused' and status <> 'paused' then 'resumed'
                when previous_status = 'trialing' and status = 'active' then 'activated'
                when plan_id <> previous_plan_id then 'plan_changed'
                when quantity <> previous_quantity then 'quantity_changed'
                when discount_pct <> previous_discount_pct then 'discount_changed'
                else 'plan_changed'
            end as event_type,
            status,
            changed_at as occurred_at,
            plan_id,
            quantity,
            unit_amount,
            cast(discount_pct as decimal(18, 8)) as discount_pct,
            currency,
            case when status = 'canceled' then cancel_reason end as cancel_reason,
            _source_file,
            _source_row,
            previous_status is null
            or status <> previous_status
            or plan_id <> previous_plan_id
            or quantity <> previous_quantity
            or unit_amount <> previous_unit_amount
            or discount_pct <> previous_discount_pct as is_change

        from (
            select
                *,
                lag(status) over (partition by native_subscription_id order by changed_at)
                    as previous_status,
                lag(plan_id) over (partition by native_subscription_id order by changed_at)
                    as previous_plan_id,
                lag(quantity) over (partition by native_subscription_id order by changed_at)
                    as previous_quantity,
                lag(unit_amount) over (partition by native_subscription_id order by changed_at)
                    as previous_unit_amount,
                lag(discount_pct) over (partition by native_subscription_id order by changed_at)
                    as previous_discount_pct
            from {{ states }}
        ) as compared
    ) as typed
    where is_change

{%- endmacro %}
