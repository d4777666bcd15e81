{#- The movement of one customer-month, comparing month-end MRR (metric contract, Movements). -#}
{% macro mrr_movement(mrr_previous, mrr, month_start, first_paid_month) -%}
    case
        when {{ mrr_previous }} = 0 and {{ mrr }} > 0 and {{ month_start }} = {{ first_paid_month }}
            then 'new'
        when {{ mrr_previous }} = 0 and {{ mrr }} > 0 then 'reactivation'
        when {{ mrr_previous }} > 0 and {{ mrr }} = 0 then 'churn'
        when {{ mrr }} > {{ mrr_previous }} then 'expansion'
        when {{ mrr }} < {{ mrr_previous }} then 'contraction'
        else 'retained'
    end
{%- endmacro %}
