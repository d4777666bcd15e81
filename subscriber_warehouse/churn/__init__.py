"""Churn-risk scores: a time-honest logistic model on the warehouse's churn features (issue 5)."""
