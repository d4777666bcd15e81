{#-
    Per row of a features model (customer_id, cutoff_at) and customer attribute, the value in
    force at the cutoff: the latest updated_at at or before it; an attribute whose latest value
    is null has none. Point in time: a contract signed after a cutoff is not a feature of it.
-#}
{% macro traits_in_force(features) -%}

with

features as (

    select distinct customer_id, cutoff_at from {{ features }}

),

attributes as (

    select * from {{ ref('stg_crm__customer_attributes') }}

),

in_force as (

    select
        features.customer_id,
        features.cutoff_at,
        attributes.attribute_name,
        attributes.attribute_value,
        row_number() over (
            partition by features.customer_id, features.cutoff_at, attributes.attribute_name
            order by attributes.updated_at desc
        ) as update_rank

    from features
    inner join attributes
        on
            features.customer_id = attributes.customer_id
            and features.cutoff_at >= attributes.updated_at

),

final as (

    select
        customer_id,
        cutoff_at,
        attribute_name,
        attribute_value

    from in_force
    where update_rank = 1 and attribute_value is not null

)

select * from final

{%- endmacro %}
