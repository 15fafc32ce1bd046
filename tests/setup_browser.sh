#!/usr/bin/env bash
# Install Debian's Chromium for the HTML report test, when apt is available and it is missing.
set -u
command -v chromium >/dev/null 2>&1 && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null 2>&1 \
    || echo "note: could not install chromium; the browser test will be skipped"
else
  echo "note: chromium not installed (apt-get install chromium); the browser test will be skipped"
fi
exit 0
