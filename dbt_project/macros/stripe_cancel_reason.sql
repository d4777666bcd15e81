{#-
    The raw contract's cancel_reason of a Stripe cancel: payment_failed when dunning ended it,
    else the customer's feedback (cancellation_details.feedback) in the contract's words.
-#}
{% macro stripe_cancel_reason(reason, feedback) -%}
    case
        when {{ reason }} = 'payment_failed' then 'payment_failed'
        when {{ feedback }} = 'too_expensive' then 'too_expensive'
        when {{ feedback }} = 'missing_features' then 'missing_features'
        when {{ feedback }} = 'switched_service' then 'switched_competitor'
        when {{ feedback }} = 'unused' then 'not_using'
        else 'other'
    end
{%- endmacro %}
