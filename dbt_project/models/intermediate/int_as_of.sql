{#-
    The as-of instants (metric contract), one row, read by every model that needs "now": never the
    build's clock, always the data's.
    - subscriptions_as_of_at: the latest subscription event. MRR, movements, cohorts, the churn
      model and contractual CLV run to it.
    - purchases_as_of_at: the latest billing record of any kind (an invoice issued, a payment
      attempted, a subscription event): the end of what the business's billing data observes,
      where the one-off purchase model's calibration period ends. A business without
      subscriptions has only this one.
-#}
with

subscription_events as (

    select * from {{ ref('stg_billing__subscription_events') }}

),

invoices as (

    select * from {{ ref('stg_billing__invoices') }}

),

payments as (

    select * from {{ ref('stg_billing__payments') }}

),

billing_records as (

    select issued_at as recorded_at from invoices

    union all

    select attempted_at as recorded_at from payments

    union all

    select occurred_at as recorded_at from subscription_events

),

final as (

    select
        (select max(occurred_at) from subscription_events) as subscriptions_as_of_at,
        {{ month_start('(select max(occurred_at) from subscription_events)') }}
            as subscriptions_as_of_month,
        (select max(recorded_at) from billing_records) as purchases_as_of_at

)

select * from final
