#!/usr/bin/env bash
# The README's test command: install, start a Kafka broker of its own, run every test, stop that broker.
#
# The broker gets free ports and a fresh state folder, exported to the tests as
# SOR_KAFKA_BOOTSTRAP and SOR_STATE_DIR: a broker the user runs (on 9092 or anywhere)
# is neither used nor stopped. SOR_SKIP_INSTALL=1 skips the pip install.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${SOR_SKIP_INSTALL:-}" ]; then
  python3 -m pip install --quiet --disable-pip-version-check -e '.[test]'
fi
# The report's browser test needs Debian's chromium; install it where we may (root, apt).
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "tests/run.sh: could not install chromium; the browser test will say so" >&2
fi
if python3 -c "import sim.commands.kafka" 2>/dev/null; then
  state="$(mktemp -d "${TMPDIR:-/tmp}/sor-tests-kafka.XXXXXX")"
  # Two distinct free ports, held open together so they differ.
  read -r port cport < <(python3 -c '
import socket
a, b = socket.socket(), socket.socket()
a.bind(("127.0.0.1", 0)); b.bind(("127.0.0.1", 0))
print(a.getsockname()[1], b.getsockname()[1])')
  export SOR_STATE_DIR="$state" SOR_KAFKA_BOOTSTRAP="127.0.0.1:$port"
  stop_broker() {
    python3 -m sim kafka down >/dev/null 2>&1 || true
    rm -rf "$state"
  }
  trap stop_broker EXIT
  echo "tests/run.sh: a Kafka broker for the tests at 127.0.0.1:$port (state $state)" >&2
  python3 -m sim kafka up --port "$port" --controller-port "$cport"
fi
python3 -m pytest -q "$@"
