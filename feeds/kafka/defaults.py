"""How long a Kafka feed waits, by default: light enough to import for command-line help."""

from __future__ import annotations

#: Seconds a consumer waits for its topic and a run to appear (``?wait=S``, ``--wait``).
WAIT_S = 0.0
#: Seconds a consumer waits for the rest of a run in progress before giving up (``?idle=S``).
IDLE_S = 60.0
