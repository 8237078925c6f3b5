#!/usr/bin/env bash
# The README's test command: install, start a local Kafka broker, run every test, stop it.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install --quiet --disable-pip-version-check -e '.[test]'
# The report's browser test needs Debian's chromium; install it where we may (root, apt).
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "tests/run.sh: could not install chromium; the browser test will say so" >&2
fi
if python3 -c "import sim.commands.kafka" 2>/dev/null; then
  python3 -m sim kafka up
  trap "python3 -m sim kafka down || true" EXIT
fi
python3 -m pytest -q "$@"
