"""Quality gates: great-expectations suites declared as code, run as blocking Dagster checks."""
