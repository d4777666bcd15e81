{#-
    A model's rules in one test (one dbt node, one scan for every rule a row can break on its
    own), so a build pays one test's fixed cost per model, not one per rule and column:
      not_null: [column, ...]                      the column is null
      accepted_values: {column: [value, ...]}      the value is not one of these (nulls pass)
      accepted_range: {column: {min_value, max_value}}  outside the bounds, inclusive (nulls pass)
      expressions: [sql, ...]                      the expression is not true (null breaks it)
      unique: [column or [column, ...], ...]       a value (nulls pass) or combination of the
                                                   columns (nulls count) on more than one row
    One result row per broken rule, naming it, with the rows that break it (for uniqueness, the
    duplicated values); the test fails by their sum. Each rule fails on exactly the rows the
    single-rule test of the same name fails on (tests/test_row_rules.py).
-#}
{% test row_rules(
    model,
    not_null=[],
    accepted_values={},
    accepted_range={},
    expressions=[],
    unique=[]
) %}
{{ config(fail_calc='coalesce(sum(failing_rows), 0)') }}
{%- set row_checks = [] -%}
{%- for column in not_null -%}
    {%- do row_checks.append(('not_null: ' ~ column, column ~ ' is null')) -%}
{%- endfor -%}
{%- for column, values in accepted_values.items() -%}
    {%- set literals = [] -%}
    {%- for value in values -%}
        {%- do literals.append(
            "'" ~ value | replace("'", "''") ~ "'" if value is string else value | string
        ) -%}
    {%- endfor -%}
    {%- do row_checks.append((
        'accepted_values: ' ~ column, column ~ ' not in (' ~ literals | join(', ') ~ ')'
    )) -%}
{%- endfor -%}
{%- for column, bounds in accepted_range.items() -%}
    {%- set outside = [] -%}
    {%- if bounds.get('min_value') is not none -%}
        {%- do outside.append(column ~ ' < ' ~ bounds['min_value']) -%}
    {%- endif -%}
    {%- if bounds.get('max_value') is not none -%}
        {%- do outside.append(column ~ ' > ' ~ bounds['max_value']) -%}
    {%- endif -%}
    {%- do row_checks.append(('accepted_range: ' ~ column, '(' ~ outside | join(' or ') ~ ')')) -%}
{%- endfor -%}
{%- for expression in expressions -%}
    {%- do row_checks.append(('expression: ' ~ expression, 'not coalesce(' ~ expression ~ ', false)')) -%}
{%- endfor -%}

with

{% if row_checks %}
row_checks as (

    select
        {%- for rule, breaks in row_checks %}
        sum(case when {{ breaks }} then 1 else 0 end) as rule_{{ loop.index }}
        {{- "," if not loop.last }}
        {%- endfor %}

    from {{ model }}

),
{% endif %}

{% for key in unique %}
{%- set columns = [key] if key is string else key %}
duplicated_{{ loop.index }} as (

    select count(*) as failing_rows
    from (
        select {{ columns | join(', ') }}
        from {{ model }}
        {% if key is string %} where {{ key }} is not null {% endif %}
        group by {{ columns | join(', ') }}
        having count(*) > 1
    ) as duplicated

),
{% endfor %}

failures as (

    {% for rule, breaks in row_checks %}
        select
            '{{ rule | replace("'", "''") }}' as rule,
            rule_{{ loop.index }} as failing_rows
        from row_checks
        union all
    {% endfor %}
    {% for key in unique %}
        select
            'unique: {{ key if key is string else key | join(", ") }}' as rule,
            failing_rows
        from duplicated_{{ loop.index }}
        union all
    {% endfor %}
    -- ends the chain of union alls
    select
        'none' as rule,
        0 as failing_rows

)

select
    rule,
    failing_rows
from failures
where failing_rows > 0

{% endtest %}
