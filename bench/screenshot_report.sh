#!/usr/bin/env bash
# Screenshot report.html in headless Chromium for review: writes out/report.png.
#
#   bench/screenshot_report.sh                      # the hand-built test result (hostile names included)
#   bench/screenshot_report.sh OUT/rec/result.json  # a real run's result
#
# Needs Debian's chromium (apt-get install -y chromium) and the project venv.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
SHOT=${SHOT:-out/report.png}
mkdir -p "$(dirname "$SHOT")"

if [[ $# -eq 0 ]]; then
    SPEECHPIPE_SCREENSHOT="$SHOT" "$PY" -m pytest -q -p no:cacheprovider \
        tests/e2e/test_html_chromium.py::test_report_screenshot
else
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    "$PY" - "$1" "$work" <<'PYEOF'
import json, sys
from pathlib import Path
from pipeline.report.html import write_html
from pipeline.core.serialize import result_from_dict
result = result_from_dict(json.loads(Path(sys.argv[1]).read_text(encoding="utf-8")))
write_html(result, Path(sys.argv[2]))
PYEOF
    chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$work/profile" --hide-scrollbars --window-size=1280,2400 \
        --screenshot="$SHOT" "file://$work/report.html" 2>/dev/null
fi
echo "wrote $SHOT"
