"""Running recordings through the stages: the runner, the stage cache, progress, batches, the
ledger and the executors (this process or Ray)."""
