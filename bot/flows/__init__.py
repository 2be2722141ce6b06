"""The flow language: YAML models, loading with file:line errors, conditions, checks, reloading."""
