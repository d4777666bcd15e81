{#-
    Rows of `mrr_relation` (keys..., month_start, mrr > 0) compared with the month before:
    one row per key and month where the key had MRR at the end of M or of M - 1 (metric contract,
    Movements), with mrr, mrr_previous and the key's first paying month. `months` and `as_of`
    name the caller's dim_months and as-of-month CTEs.
-#}
{% macro compare_month_ends(mrr_relation, keys, months='months', as_of='as_of') -%}
    select
        {%- for key in keys %}
        candidates.{{ key }},
        {%- endfor %}
        candidates.month_start,
        first_paid.first_paid_month,
        coalesce(current_month.mrr, 0) as mrr,
        coalesce(previous_month.mrr, 0) as mrr_previous

    from (
        select {{ keys | join(', ') }}, month_start from {{ mrr_relation }}

        union

        select
            {%- for key in keys %}
            paying.{{ key }},
            {%- endfor %}
            {{ months }}.next_month_start as month_start

        from {{ mrr_relation }} as paying
        inner join {{ months }} on paying.month_start = {{ months }}.month_start
        cross join {{ as_of }}
        where {{ months }}.next_month_start <= {{ as_of }}.as_of_month
    ) as candidates
    inner join {{ months }} on candidates.month_start = {{ months }}.month_start
    inner join (
        select {{ keys | join(', ') }}, min(month_start) as first_paid_month
        from {{ mrr_relation }}
        group by {{ keys | join(', ') }}
    ) as first_paid
        on
            {%- for key in keys %}
            {{ 'and ' if not loop.first }}candidates.{{ key }} = first_paid.{{ key }}
            {%- endfor %}
    left join {{ mrr_relation }} as current_month
        on
            {%- for key in keys %}
            candidates.{{ key }} = current_month.{{ key }} and
            {%- endfor %}
            candidates.month_start = current_month.month_start
    left join {{ mrr_relation }} as previous_month
        on
            {%- for key in keys %}
            candidates.{{ key }} = previous_month.{{ key }} and
            {%- endfor %}
            {{ months }}.previous_month_start = previous_month.month_start
{%- endmacro %}
