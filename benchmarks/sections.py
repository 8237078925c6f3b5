"""The measurements added beside the core ones, one module each.

A section module has ``NAME`` (its key in ``results.json``), ``measure(ctx) -> dict``
(``ctx`` is ``benchmarks.__main__.Context``: the run mode and the inputs already built
and timed) and ``markdown(result) -> list[str]`` (its part of RESULTS.md). List it here.
"""

from __future__ import annotations

SECTIONS: tuple[str, ...] = (
    "benchmarks.kafka_read",
    "benchmarks.ck_allocator",
    "benchmarks.reading",
    "benchmarks.study",
    "benchmarks.replay",
    "benchmarks.hftbacktest_compare",
)
