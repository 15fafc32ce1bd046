"""The bottom layer: typed results, the kept/original timeline, config, errors, (de)serialisation,
invariants and time formatting. Imports nothing else of the package."""
