-- The benchmark's peer: month-end MRR by dbt-labs' mrr-playbook method, as one plain DuckDB query.
--
-- Followed (github.com/dbt-labs/mrr-playbook, commit 54478a5):
--   models/utils/util_months.sql             -> months (a month date spine)
--   models/customer_revenue_by_month.sql     -> customers, customer_months, joined,
--                                               customer_revenue_by_month
--   models/customer_churn_month.sql          -> customer_churn_month (the month after the last)
--   models/mrr.sql                           -> unioned, mrr_with_changes, final (change_category)
-- The playbook starts from a seed, subscription_periods (customer_id, start_date, end_date,
-- monthly_amount); here that table is derived from the landed subscription events.
--
-- What the metric contract needs and the playbook lacks (each marked [contract] below):
--   - a re-delivered event counts once: the copy in the file whose name sorts last wins, then the
--     later row of that file;
--   - a subscription's state is its last event by (occurred_at, event_id): each event opens a
--     period that the next one closes, so the latest version wins;
--   - nulls take the plan version in force at occurred_at (latest updated_at <= t; before the
--     first version, the first), and billing intervals are normalised to a month;
--   - FX: converted at the rate of the day the state began (latest rate_date on or before it);
--     USD is 1 when not landed;
--   - month END, not month start: the playbook counts a period in month M when it covers M's
--     first day; the contract counts the state at M's last instant (events before M+1 began);
--   - a customer may hold several subscriptions, so their periods are summed per month (the
--     playbook assumes one period per customer-month); rounded to cents per customer-month;
--   - rows stop at the as-of month (the month of the latest event).
--
-- Why read the landing files and not the raw schema: the playbook has no loader, so a team using
-- it would point SQL at the exported files; read from raw, it would get our loader's typing for
-- free and be compared with the dbt build alone. From the landing it does, end to end, what load
-- + dbt build do for month-end MRR, minus the contract's validation and quarantine (so it is only
-- right on clean landings, which the benchmark's are). Parquet only: files come in as DuckDB
-- variables (SET VARIABLE <table>_files = [...]; reporting_currency = 'USD'), chosen by the
-- loader's rules (benchmarks/peer.py), so this file runs as-is in the duckdb CLI too.

with

event_deliveries as (

    select
        event_id,
        subscription_id,
        customer_id,
        status,
        timezone('UTC', cast(occurred_at as timestamptz)) as occurred_at,
        plan_id,
        quantity,
        unit_amount,
        discount_pct,
        currency,
        filename,
        file_row_number

    from read_parquet(
        getvariable('subscription_events_files'),
        filename = true, file_row_number = true, union_by_name = true
    )

),

-- [contract] one row per event_id: the copy from the file whose name sorts last, then its last row
events as (

    select * from event_deliveries
    qualify row_number() over (
        partition by event_id order by filename desc, file_row_number desc
    ) = 1

),

plan_deliveries as (

    select
        plan_id,
        billing_interval,
        interval_count,
        unit_amount,
        currency,
        timezone('UTC', cast(updated_at as timestamptz)) as updated_at

    from read_parquet(
        getvariable('plans_files'),
        filename = true, file_row_number = true, union_by_name = true
    )
    qualify row_number() over (
        partition by plan_id, updated_at order by filename desc, file_row_number desc
    ) = 1

),

-- [contract] the version in force at t: the latest updated_at <= t; before the first, the first
plan_versions as (

    select
        plan_id,
        unit_amount,
        currency,
        case
            when row_number() over (partition by plan_id order by updated_at) = 1
                then cast('-infinity' as timestamp)
            else updated_at
        end as valid_from,
        cast(
            case billing_interval
                when 'month' then 1.0 / interval_count
                when 'year' then 1.0 / (12 * interval_count)
                when 'week' then 52.0 / (12 * interval_count)
                when 'day' then 365.0 / (12 * interval_count)
            end
            as decimal(20, 12)
        ) as monthly_factor

    from plan_deliveries

),

fx_landed as (

    select
        rate_date,
        currency,
        rate_to_usd

    from read_parquet(
        getvariable('fx_rates_files'),
        filename = true, file_row_number = true, union_by_name = true
    )
    qualify row_number() over (
        partition by rate_date, currency order by filename desc, file_row_number desc
    ) = 1

),

-- [contract] USD may be absent from the landed rates: its rate is 1
fx_rates as (

    select * from fx_landed

    union all

    select
        cast('1900-01-01' as date) as rate_date,
        'USD' as currency,
        cast(1 as decimal(18, 8)) as rate_to_usd
    where not exists (select 1 from fx_landed where currency = 'USD')

),

reporting_rates as (

    select
        rate_date,
        rate_to_usd
    from fx_rates
    where currency = getvariable('reporting_currency')

),

-- [contract] each event carries the full state after it; nulls take the plan version in force
states as (

    select
        events.subscription_id,
        events.customer_id,
        events.event_id,
        events.occurred_at,
        cast(events.occurred_at as date) as state_date,
        coalesce(events.currency, plan.currency) as currency,
        case
            when events.status = 'active'
                then cast(
                    coalesce(events.unit_amount, plan.unit_amount) * events.quantity
                    * (100 - coalesce(events.discount_pct, 0)) / 100 * plan.monthly_factor
                    as decimal(20, 6)
                )
            else cast(0 as decimal(20, 6))
        end as mrr_local

    from events
    asof left join plan_versions as plan
        on events.plan_id = plan.plan_id and events.occurred_at >= plan.valid_from

),

-- [contract] converted at the rate of the day the state began, so FX never moves MRR
converted as (

    select
        states.*,
        case
            when states.mrr_local = 0 then cast(0 as decimal(20, 6))
            else cast(
                states.mrr_local
                * cast(rate.rate_to_usd / reporting.rate_to_usd as decimal(24, 12))
                as decimal(20, 6)
            )
        end as monthly_amount

    from states
    asof left join fx_rates as rate
        on states.currency = rate.currency and states.state_date >= rate.rate_date
    asof left join reporting_rates as reporting
        on states.state_date >= reporting.rate_date

),

-- the playbook's seed: paying periods; [contract] each event's state lasts until the next event
subscription_periods as (

    select
        subscription_id,
        customer_id,
        start_at,
        end_at,
        monthly_amount

    from (
        select
            subscription_id,
            customer_id,
            monthly_amount,
            occurred_at as start_at,
            lead(occurred_at) over (
                partition by subscription_id order by occurred_at, event_id
            ) as end_at
        from converted
    ) as periods
    where monthly_amount > 0

),

-- [contract] rows run through the as-of month: the month of the latest event
as_of as (

    select cast(date_trunc('month', max(occurred_at)) as date) as as_of_month
    from events

),

-- util_months.sql: a month spine (here from the first paying month through the as-of month)
months as (

    select
        cast(date_month as date) as date_month,
        cast(date_month + interval 1 month as timestamp) as next_month_at

    from (
        select
            unnest(generate_series(
                (select cast(date_trunc('month', min(start_at)) as date) from subscription_periods),
                (select as_of_month from as_of),
                interval 1 month
            )) as date_month
    ) as spine

),

-- customer_revenue_by_month.sql: each customer's first and last month
customers as (

    select
        subscription_periods.customer_id,
        cast(date_trunc('month', min(subscription_periods.start_at)) as date) as date_month_start,
        -- an open period runs through the as-of month
        cast(date_trunc('month', max(coalesce(
            subscription_periods.end_at, as_of.as_of_month + interval 1 month
        ))) as date) as date_month_end

    from subscription_periods
    cross join as_of
    group by subscription_periods.customer_id

),

-- one record per month between a customer's first and last month (the date spine)
customer_months as (

    select
        customers.customer_id,
        months.date_month,
        months.next_month_at

    from customers
    inner join months
        on
            months.date_month >= customers.date_month_start
            and months.date_month < customers.date_month_end

),

-- [contract] the periods in force at the month's last instant, summed over the subscriptions
joined as (

    select
        customer_months.date_month,
        customer_months.customer_id,
        cast(round(coalesce(sum(subscription_periods.monthly_amount), 0), 2) as decimal(18, 2))
            as mrr

    from customer_months
    left join subscription_periods
        on
            customer_months.customer_id = subscription_periods.customer_id
            and subscription_periods.start_at < customer_months.next_month_at
            and (
                subscription_periods.end_at is null
                or subscription_periods.end_at >= customer_months.next_month_at
            )
    group by customer_months.date_month, customer_months.customer_id

),

customer_revenue_by_month as (

    select
        date_month,
        customer_id,
        mrr,
        mrr > 0 as is_active,
        min(case when mrr > 0 then date_month end) over (
            partition by customer_id
        ) as first_active_month,
        max(case when mrr > 0 then date_month end) over (
            partition by customer_id
        ) as last_active_month,
        first_active_month = date_month as is_first_month,
        last_active_month = date_month as is_last_month

    from joined

),

-- customer_churn_month.sql: a row for the month after the last month of activity, unless the
-- spine has it already (a paying period that starts and ends inside one month extends the spine
-- past the last active month: the playbook's month-grain periods never do)
customer_churn_month as (

    select
        cast(mrr.date_month + interval 1 month as date) as date_month,
        mrr.customer_id,
        cast(0 as decimal(18, 2)) as mrr,
        false as is_active,
        mrr.first_active_month,
        mrr.last_active_month,
        false as is_first_month,
        false as is_last_month

    from customer_revenue_by_month as mrr
    cross join as_of
    where
        mrr.is_last_month
        and mrr.date_month < as_of.as_of_month
        and not exists (
            select 1 from joined
            where
                joined.customer_id = mrr.customer_id
                and joined.date_month = cast(mrr.date_month + interval 1 month as date)
        )

),

-- mrr.sql
unioned as (

    select * from customer_revenue_by_month

    union all

    select * from customer_churn_month

),

mrr_with_changes as (

    select
        *,
        coalesce(
            lag(is_active) over (partition by customer_id order by date_month),
            false
        ) as previous_month_is_active,
        coalesce(
            lag(mrr) over (partition by customer_id order by date_month),
            0
        ) as previous_month_mrr,
        mrr - previous_month_mrr as mrr_change

    from unioned

),

final as (

    select
        customer_id,
        date_month,
        mrr,
        previous_month_mrr,
        mrr_change,
        case
            when is_first_month
                then 'new'
            when not is_active and previous_month_is_active
                then 'churn'
            when is_active and not previous_month_is_active
                then 'reactivation'
            when mrr_change > 0 then 'upgrade'
            when mrr_change < 0 then 'downgrade'
        end as change_category

    from mrr_with_changes

)

select * from final
