{#-
    The customer traits the churn model reads at each cutoff of churn_features: per customer,
    cutoff and attribute, the value in force at the cutoff. Every landed attribute, point in
    time: a contract signed after a cutoff is not a feature of it.
-#}
{{ traits_in_force(ref('churn_features')) }}
