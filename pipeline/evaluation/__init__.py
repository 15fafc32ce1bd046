"""Evaluation: accuracy and cost of the pipeline, side by side with what users run instead.

Modules, one job each:

- ``diarization``: DER and JER (pyannote.metrics) and the optimal speaker mapping;
- ``speakers``: per-speaker talk-share and turn-count errors under that mapping;
- ``transcript``: WER on Whisper-normalised text (jiwer), words inside music;
- ``music``: hold-music frame F1 and speech lost;
- ``scenarios``: the seeded generator of test audio (hold loops, real speech, codecs) with its truth;
- ``references``: the reference of one recording, and the real recordings as they are;
- ``recordings``: labelled "live room" recordings built from ``scenarios`` parts;
- ``conversations``: two-party calls, an interview and long talks of real voices, with references;
- ``systems``: the pipeline and the baselines, run inside a measured child process;
- ``resources``: run a measurement in its own child process, with its peak RSS;
- ``harness``: the whole evaluation, scored and compared; ``report``: JSON and Markdown.

``speechpipe eval`` (``pipeline.cli.eval``) runs it.
"""
