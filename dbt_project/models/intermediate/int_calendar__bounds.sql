{#-
    The calendar's first and last day, from the data (docs/metrics.md, Calendar): the earliest
    day of any landed row through the latest, plus var
    `calendar_months_ahead` months for what projections read ahead, to that month's end. One row;
    both null when nothing is landed.
-#}
with

{% set dated = [
    ('stg_billing__customers', ['created_at', 'updated_at']),
    ('stg_billing__plans', ['updated_at']),
    ('stg_billing__subscription_events', ['occurred_at']),
    ('stg_billing__invoices', ['issued_at', 'period_start', 'period_end']),
    ('stg_billing__payments', ['attempted_at']),
    ('stg_billing__refunds', ['refunded_at']),
    ('stg_finance__fx_rates', ['rate_date']),
    ('stg_marketing__campaigns', ['started_at', 'ended_at']),
    ('stg_marketing__campaign_touches', ['touched_at']),
    ('stg_product__usage_events', ['occurred_at']),
    ('stg_support__tickets', ['opened_at', 'resolved_at']),
    ('stg_crm__preferences', ['updated_at']),
    ('stg_crm__social_interactions', ['occurred_at']),
] %}

landed_days as (

    {% for model, columns in dated %}
        {%- set firsts, lasts = [], [] -%}
        {%- for c in columns -%}
            {%- do firsts.append('min(cast(' ~ c ~ ' as date))') -%}
            {%- do lasts.append('max(cast(' ~ c ~ ' as date))') -%}
        {%- endfor %}
        select
            {{ firsts[0] if firsts | length == 1 else 'least(' ~ firsts | join(', ') ~ ')' }}
                as first_day,
            {{ lasts[0] if lasts | length == 1 else 'greatest(' ~ lasts | join(', ') ~ ')' }}
                as last_day
        from {{ ref(model) }}
        {{ 'union all' if not loop.last }}
    {% endfor %}

),

bounds as (

    select
        min(first_day) as first_day,
        max(last_day) as last_day

    from landed_days

),

final as (

    select
        cast({{ month_start('bounds.first_day') }} as date) as first_date,
        cast({{ dbt.last_day(
            dbt.dateadd('month', var('calendar_months_ahead'), 'bounds.last_day'), 'month'
        ) }} as date) as last_date

    from bounds

)

select * from final
