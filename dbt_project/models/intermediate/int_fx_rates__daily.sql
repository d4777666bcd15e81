with

rates as (

    select * from {{ ref('stg_finance__fx_rates') }}

),

days as (

    select date_day from {{ ref('dim_date') }}

),

-- USD may be absent from the landed rates: its rate is 1 (raw contract)
usd as (

    select
        'USD' as currency,
        cast('0001-01-01' as date) as rate_date,
        cast(1 as decimal(18, 8)) as rate_to_usd

),

all_rates as (

    select
        currency,
        rate_date,
        rate_to_usd
    from rates

    union all

    select
        currency,
        rate_date,
        rate_to_usd
    from usd
    where not exists (
        select 1 from rates
        where rates.currency = 'USD'
    )

),

ranged as (

    select
        currency,
        rate_date,
        rate_to_usd,
        coalesce(
            lead(rate_date) over (partition by currency order by rate_date),
            cast('9999-12-31' as date)
        ) as next_rate_date

    from all_rates

),

-- the latest rate_date on or before each day (metric contract, reporting currency)
daily as (

    select
        days.date_day as rate_date,
        ranged.currency,
        ranged.rate_to_usd

    from ranged
    inner join days
        on ranged.rate_date <= days.date_day and ranged.next_rate_date > days.date_day

),

reporting as (

    select
        rate_date,
        rate_to_usd as reporting_rate_to_usd

    from daily
    where currency = '{{ var("reporting_currency") }}'

),

final as (

    select
        daily.rate_date,
        daily.currency,
        daily.rate_to_usd,
        cast(daily.rate_to_usd / reporting.reporting_rate_to_usd as decimal(24, 12))
            as rate_to_reporting

    from daily
    inner join reporting on daily.rate_date = reporting.rate_date

)

select * from final
