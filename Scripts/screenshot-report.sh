#!/bin/sh
# Renders a Recurrent HTML report (rnn demo / rnn train --report / rnn inspect) in headless
# Chromium, checks that it loads cleanly, and saves a screenshot.
#
#   Scripts/screenshot-report.sh REPORT.html OUT.png [WIDTH HEIGHT]
#
# Needs Debian's chromium package (apt-get install -y chromium). Checks, each failing the
# script with exit status 1:
#   1. the page's DOM (chromium --dump-dom) has at least one <svg> chart with a drawn <path>,
#      and no <script> element;
#   2. the browser's log (--enable-logging=stderr --v=0) has no console error
#      ("Uncaught", "ERROR:CONSOLE", "Failed to load resource"), and the page refers to nothing
#      on the network (no src=/href=/url( of http(s):// or //; the browser runs with every host
#      name unresolvable, so such a fetch could not succeed either);
#   3. the screenshot exists and is a PNG.
# Exit status 2: usage error or chromium missing.
set -eu

if [ $# -lt 2 ]; then
  echo "usage: $0 REPORT.html OUT.png [WIDTH HEIGHT]" >&2
  exit 2
fi
report=$1
out=$2
width=${3:-1000}
height=${4:-1400}
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
  echo "$0: chromium not found (apt-get install -y chromium)" >&2
  exit 2
fi
if [ ! -f "$report" ]; then
  echo "$0: no such report: $report" >&2
  exit 2
fi
url="file://$(cd "$(dirname "$report")" && pwd)/$(basename "$report")"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# --no-sandbox: containers and root shells have no user namespaces for the sandbox.
browse() {
  "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run --disable-extensions \
    --user-data-dir="$work/profile" --virtual-time-budget=5000 --enable-logging=stderr --v=0 \
    "--host-resolver-rules=MAP * ~NOTFOUND" "$@"
}

# 1. The DOM as the browser parsed it.
browse --dump-dom "$url" >"$work/dom.html" 2>"$work/dom.log" || {
  echo "$0: chromium failed to load $url:" >&2
  tail -20 "$work/dom.log" >&2
  exit 1
}
svgs=$(grep -o '<svg' "$work/dom.html" | wc -l)
paths=$(grep -o '<path d="M' "$work/dom.html" | wc -l)
scripts=$(grep -o '<script' "$work/dom.html" | wc -l)

# 2. The screenshot, with the browser's log.
browse --window-size="$width,$height" --screenshot="$out" "$url" 2>"$work/shot.log" || {
  echo "$0: chromium failed to take the screenshot:" >&2
  tail -20 "$work/shot.log" >&2
  exit 1
}

status=0
if [ "$svgs" -lt 1 ] || [ "$paths" -lt 1 ]; then
  echo "FAIL: the rendered page has $svgs <svg> charts and $paths drawn paths (expected at least 1 each)" >&2
  status=1
fi
if [ "$scripts" -ne 0 ]; then
  echo "FAIL: the page has $scripts <script> elements (a report has none)" >&2
  status=1
fi
if grep -Eo "(src|href)=[\"']?(https?:)?//[^\"' >]*|url\\([\"']?(https?:)?//[^)]*" "$work/dom.html" >"$work/remote.txt"; then
  echo "FAIL: the page refers to the network:" >&2
  cat "$work/remote.txt" >&2
  status=1
fi
if grep -E 'Uncaught|ERROR:CONSOLE|Failed to load resource|net::ERR_' "$work/dom.log" "$work/shot.log" >"$work/errors.txt"; then
  echo "FAIL: the browser reported errors:" >&2
  cat "$work/errors.txt" >&2
  status=1
fi
if [ ! -s "$out" ] || [ "$(head -c 4 "$out" | od -An -c | tr -d ' ')" != "211PNG" ]; then
  echo "FAIL: no PNG screenshot at $out" >&2
  status=1
fi
if [ $status -eq 0 ]; then
  echo "ok: $report renders without errors ($svgs svg charts, $paths paths, no scripts); screenshot $out ($(wc -c <"$out") bytes)"
fi
exit $status
