#!/usr/bin/env bash
# Checks the generated alert rules with promtool and runs the promtool unit
# tests of every alert (mixin/tests/*.yaml). promtool is $PROMTOOL, else
# .tools/debian/bin/promtool (scripts/fetch-tools.sh), else the one on PATH.
# The Go tests run it once with each supported promtool.
set -euo pipefail
cd "$(dirname "$0")/.."

promtool="${PROMTOOL:-}"
if [ -z "$promtool" ]; then
  if [ -x .tools/debian/bin/promtool ]; then
    promtool=.tools/debian/bin/promtool
  elif command -v promtool >/dev/null 2>&1; then
    promtool=promtool
  else
    echo "check-mixin: promtool not found: run scripts/fetch-tools.sh" >&2
    exit 1
  fi
fi

"$promtool" check rules alerts/*.yaml
"$promtool" test rules mixin/tests/*.yaml
