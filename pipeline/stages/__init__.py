"""The analysis of one recording, as stages: hold music, ASR, diarization, alignment, naming, metrics."""
