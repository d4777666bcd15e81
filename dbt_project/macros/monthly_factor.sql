{#- Months per billing period inverted: what one period's price is worth per month (metric contract, MRR). -#}
{% macro monthly_factor(billing_interval, interval_count) -%}
    case {{ billing_interval }}
        when 'month' then 1.0 / {{ interval_count }}
        when 'year' then 1.0 / (12 * {{ interval_count }})
        when 'week' then 52.0 / (12 * {{ interval_count }})
        when 'day' then 365.0 / (12 * {{ interval_count }})
    end
{%- endmacro %}
