{#-
    The customer traits the uplift model reads at each assignment of uplift_features: per
    customer, assignment instant and attribute, the value in force then.
-#}
{{ traits_in_force(ref('uplift_features')) }}
