"""bench: suites, runner, scoring and comparisons. Reaches models only through models/."""
