{#-
    The formula LTV of the metric contract (docs/metrics.md, Customer lifetime value), written
    once for subscription_metrics_monthly (the company) and int_channels__formula_ltv (each
    acquisition channel). On rows of one month each (per partition_by when given) with columns
    month_start, mrr_end, customers_end, churned_customers and customers_start:

        trailing_arpa = Σ mrr_end / Σ customers_end over the trailing window (trailing_sum)
        trailing_logo_churn_rate = Σ churned_customers / Σ customers_start over it
        expected_lifetime_months = min(1 / trailing_logo_churn_rate, var clv_max_lifetime_months),
            the cap when that churn is 0 or null
        formula_ltv = trailing_arpa × var gross_margin × expected_lifetime_months
-#}
{% macro trailing_arpa(partition_by=none) -%}
    {{ safe_divide(
        trailing_sum('mrr_end', partition_by), trailing_sum('customers_end', partition_by)
    ) }}
{%- endmacro %}

{% macro trailing_logo_churn_rate(partition_by=none) -%}
    {{ safe_divide(
        trailing_sum('churned_customers', partition_by),
        trailing_sum('customers_start', partition_by)
    ) }}
{%- endmacro %}

{% macro expected_lifetime_months(churn_rate) -%}
    case
        when {{ churn_rate }} > 0
            then least(1 / {{ churn_rate }}, {{ var('clv_max_lifetime_months') }})
        else cast({{ var('clv_max_lifetime_months') }} as double)
    end
{%- endmacro %}

{% macro formula_ltv(arpa, lifetime_months) -%}
    cast({{ arpa }} * {{ var('gross_margin') }} * {{ lifetime_months }} as double)
{%- endmacro %}
