-- The MRR forecast (marts.mrr_forecast, written by the predictive step) one row per forecast
-- month × scenario, each metric's point and bounds a column: what the semantic layer's measures
-- sum over.
{% set columns = [] %}
{% for metric in ['mrr', 'arr', 'customers'] %}
    {% for value in ['point', 'lower_80', 'upper_80', 'lower_95', 'upper_95'] %}
        {% do columns.append((metric, value)) %}
    {% endfor %}
{% endfor %}

with

forecast as (

    select * from {{ source('predictive', 'mrr_forecast') }}

),

final as (

    select
        {% for metric, value in columns %}
            max(case when metric = '{{ metric }}' then {{ value }} end)
                as {{ metric }}_{{ value }},
        {% endfor %}
        origin_month,
        month_start,
        months_ahead,
        scenario

    from forecast
    group by origin_month, month_start, months_ahead, scenario

)

select * from final
