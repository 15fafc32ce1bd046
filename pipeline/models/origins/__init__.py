"""Model registry entries, one class per origin (where a model's files come from)."""
