{#-
    What one billing period's price is worth per month (metric contract, MRR): 1/n for month,
    1/(12n) for year, 52/(12n) for week, 365/(12n) for day. A fixed-scale decimal, so amounts
    are exact to the cent on every engine.
-#}
{% macro monthly_factor(billing_interval, interval_count) -%}
    cast(
        case {{ billing_interval }}
            when 'month' then 1.0 / {{ interval_count }}
            when 'year' then 1.0 / (12 * {{ interval_count }})
            when 'week' then 52.0 / (12 * {{ interval_count }})
            when 'day' then 365.0 / (12 * {{ interval_count }})
        end
        as decimal(20, 12)
    )
{%- endmacro %}
