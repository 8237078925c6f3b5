"""The producer's pacing and batching, on a fake clock (no broker)."""

from __future__ import annotations

import attrs
import numpy as np
from kafka_fixtures import make_market

from feeds.kafka import schema
from feeds.kafka.producer import _send_rows

SEC = 1_000_000_000


class _Clock:
    def __init__(self, cost_per_send_s: float = 0.0):
        self.now = 100.0
        self.sleeps: list[float] = []
        self.cost = cost_per_send_s

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 9))
        self.now += seconds


class _Sender:
    def __init__(self, clock: _Clock):
        self.clock = clock
        self.sent: list[tuple[float, list[int], bytes | None]] = []

    def send(self, value: bytes, key: bytes | None = None, partition: int | None = None) -> None:
        self.sent.append((self.clock.now, schema.decode(value).seq.tolist(), key))
        self.clock.now += self.clock.cost


def _market(ts_s: list[float], venues: list[int]):
    md = make_market(len(ts_s))
    return attrs.evolve(
        md, ts_event=md.ts_event[0] + (np.array(ts_s) * SEC).astype(np.int64), venue=np.array(venues)
    )


def test_paced_rows_leave_at_their_event_time_over_the_speed():
    md = _market([0, 0, 1, 1, 3], [2, 5, 2, 2, 2])
    clock = _Clock()
    sender = _Sender(clock)

    _send_rows(md, "r", sender, 2.0, 64, None, clock, clock.sleep, linger_s=0.0)

    assert clock.sleeps == [0.5, 1.0]
    assert sender.sent == [(100.0, [0], b"2"), (100.0, [1], b"5"), (100.5, [2, 3], b"2"), (101.5, [4], b"2")]


def test_max_speed_batches_each_venue_up_to_the_limit_without_sleeping():
    md = _market([0, 1, 2, 3, 4, 5], [2, 2, 5, 2, 2, 2])
    clock = _Clock()
    sender = _Sender(clock)

    _send_rows(md, "r", sender, speed=None, batch_max=2, on_progress=None, clock=clock, sleep=clock.sleep)

    assert clock.sleeps == []
    assert [rows for _t, rows, _k in sender.sent] == [[0, 1], [3, 4], [2], [5]]


def test_a_producer_behind_its_schedule_catches_up_by_batching_instead_of_sleeping():
    md = _market([0, 0.1, 0.2, 0.3, 0.4, 5], [2, 2, 2, 2, 2, 2])
    clock = _Clock(cost_per_send_s=0.35)  # every send takes longer than the gap to the next row
    sender = _Sender(clock)
    seen = []

    _send_rows(
        md, "r", sender, speed=1.0, batch_max=64, on_progress=seen.append, clock=clock, sleep=clock.sleep
    )

    # t=100: row 0 goes; the send ends at 100.35, when rows 1-3 are due, so they go
    # together; that send ends at 100.70, past row 4's time; row 5 waits for 105.
    assert [rows for _t, rows, _k in sender.sent] == [[0], [1, 2, 3], [4], [5]]
    assert clock.sleeps == [3.95]
    assert seen[-1] == 6


def test_paced_rows_due_within_the_linger_leave_together_when_the_next_is_later():
    # At speed 10, rows due 0, 2, 4, 30 and 32 ms after the first; a 5 ms linger.
    md = _market([0, 0.02, 0.04, 0.3, 0.32], [2, 2, 5, 2, 2])
    clock = _Clock()
    sender = _Sender(clock)

    _send_rows(md, "r", sender, 10.0, 64, None, clock, clock.sleep, linger_s=0.005)

    # Row 1 is due 2 ms after row 0 (within the linger): they wait together; row 2 is due
    # 4 ms after row 0, still within; row 3 is 30 ms away, so 0-2 leave before that sleep.
    assert [(round(t - 100.0, 6), rows) for t, rows, _k in sender.sent] == [
        (0.004, [0, 1]),
        (0.004, [2]),
        (0.032, [3, 4]),
    ]
    assert clock.sleeps == [0.002, 0.002, 0.026, 0.002]
