"""Models: the registry (every model, its source and sha256), the compute device, and one loader
per model, each verified by checksum through ``registry.resolve_model``."""
