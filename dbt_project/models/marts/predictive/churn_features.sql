{#-
    Churn-model features as of several cutoffs, each cutoff a whole horizon before the next:
    cutoff k = as-of instant - k x churn_horizon_days, k = 0..churn_backtest_cutoffs. Every
    feature reads only rows timestamped before its cutoff; the label looks at the horizon after.
-#}
{%- set horizon = var('churn_horizon_days') -%}
{%- set cutoffs -%}
    {% for k in range(var('churn_backtest_cutoffs') + 1) %}
        select
            {{ k }} as cutoffs_before_as_of,
            {{ dbt.dateadd('day', -k * horizon, 'as_of_at') }} as cutoff_at,
            as_of_at
        from as_of
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
{%- endset -%}

{{ point_in_time_features(cutoffs) }}
