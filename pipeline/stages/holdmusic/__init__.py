"""Hold music: find looping and other music on the original recording, before anything else."""
