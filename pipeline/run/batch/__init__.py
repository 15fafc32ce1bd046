"""Many recordings through the runner: discover, plan, execute, record, under one lock (``driver``)."""
