#!/usr/bin/env bash
# screenshots.sh refreshes docs/screenshots: the hosted checkout page (form, decline, 3-D Secure, success) and the
# receipt email, each at 375 and 1280 px wide, taken in headless Chromium by e2e's TestScreenshots.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p docs/screenshots
TILL_SCREENSHOTS="$PWD/docs/screenshots" go test -count=1 -run '^TestScreenshots$' ./e2e/
ls -l docs/screenshots
