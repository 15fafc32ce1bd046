"""Evaluation: accuracy and cost of the pipeline, side by side with what users run instead.

Lives in the checkout beside ``bench/``, outside the installed package: it imports
``pipeline``, never the other way round. Real material is read from folders given as
arguments. Modules, one job each:

- ``diarization``: DER and JER (pyannote.metrics), pooled over a set, and the optimal speaker mapping;
- ``speakers``: per-speaker talk-share and turn-count errors under that mapping;
- ``transcript``: WER on Whisper-normalised text (jiwer), words inside music;
- ``music``: hold-music frame counts (F1 and speech lost), the one frame scorer;
- ``minority``: how well the quietest speaker keeps their own label;
- ``signals``: levels, the noise floor, synthesized music, loops, codec round trips;
- ``sources``: the real clips of the data folder;
- ``music_parts``: a loop, a loop region, music played once;
- ``scenarios``: the seeded generator of hold-music test audio with its truth;
- ``references``: the reference of one recording, and the real recordings as they are;
- ``recordings``: labelled "live room" recordings built from ``scenarios`` parts;
- ``voices``, ``telephone``, ``mixing``: real speakers cut into pieces, a telephone line, pieces
  laid on a timeline;
- ``conversations``, ``interview``, ``quiet_host``: calls, long talks, interviews of real voices,
  with references;
- ``systems``: the pipeline and the baselines, run inside a measured child process;
- ``resources``: run a measurement in its own child process, with its peak RSS;
- ``harness``: the whole evaluation, scored and compared;
- ``results``: the one results writer (JSON for every bench, and the evaluation's Markdown tables);
- ``command``: ``python -m evaluation``, the harness from the command line.
"""
