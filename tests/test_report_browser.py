"""The report page in a real headless Chromium: it loads cleanly, shows the tables and decodes every figure.

Skipped, saying why, only where no Chromium binary exists; ``.ci/run`` installs one.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from sim.report import write_report

pytest.importorskip("matplotlib", reason="the report figures need matplotlib (pip install 'sor[plot]')")

pytestmark = pytest.mark.chromium

T0 = 1_722_519_392_000_000_000  # 2024-08-01T13:36:32Z
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
)


def find_chromium() -> str | None:
    for candidate in (os.environ.get("CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


@pytest.fixture(scope="module")
def chromium() -> str:
    binary = find_chromium()
    if binary is None:
        pytest.skip("no Chromium binary: not at /usr/bin/chromium nor on PATH (apt-get install chromium)")
    return binary


def run_chromium(binary: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [binary, *FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def fill(dt_s, venue, price, size, liquidity="taker", fee=0.0, rebate=0.0, catch_up=False):
    return {
        "ts_ns": T0 + int(dt_s * 1e9),
        "venue": venue,
        "price": price,
        "size": size,
        "liquidity": liquidity,
        "fee": fee,
        "rebate": rebate,
        "catch_up": catch_up,
        "queue_ahead": None,
    }


def strategy(fills, total_cash, avg, fees, rebates, catch_up, maker):
    return {
        "kind": "x",
        "parameters": {},
        "filled_shares": sum(f["size"] for f in fills),
        "total_cash": total_cash,
        "avg_fill_px": avg,
        "fees": fees,
        "rebates": rebates,
        "catch_up_shares": catch_up,
        "maker_shares": maker,
        "complete": True,
        "fills": fills,
    }


def small_result() -> dict:
    """Return a two-strategy buy of 200 shares with a degenerate 2x2x2 sweep and one walk-forward window."""
    grid = [(a, b, c) for a in (0.1, 0.2) for b in (0.3, 0.4) for c in (0.05, 0.1)]
    return {
        "optimized": {"strategy": "ck_static"},
        "baselines": {"best_ask": {"strategy": "best_ask"}},
        "savings_vs_baselines_bps": {"best_ask": 1.4957},
        "savings_basis": {"best_ask": "total_cash"},
        "order": {"side": "buy", "quantity": 200},
        "strategies": {
            "ck_static": strategy(
                [
                    fill(1, 2, 222.8, 100, "maker", rebate=0.2),
                    fill(4, 5, 222.83, 100, fee=0.3, catch_up=True),
                ],
                44563.1,
                222.8155,
                0.3,
                0.2,
                100,
                100,
            ),
            "best_ask": strategy(
                [fill(0.5, 2, 222.83, 100, fee=0.3), fill(2, 38, 222.86, 100, fee=0.3)],
                44569.6,
                222.848,
                0.6,
                0,
                0,
                0,
            ),
        },
        "sweep": {
            "strategy": "ck_static",
            "parameters": ["lambda_over", "lambda_under", "theta_queue"],
            "rows": [
                {
                    "parameters": dict(zip(("lambda_over", "lambda_under", "theta_queue"), p, strict=True)),
                    "total_cash": 44563.1,
                }
                for p in grid
            ],
            "degenerate": True,
            "chosen": 0,
        },
        "walk_forward": {
            "windows": [
                {
                    "tune": {"start": "13:36:32", "end": "13:36:34"},
                    "test": {"start": "13:36:34", "end": "13:36:36"},
                    "best_parameters": {"lambda_over": 0.1},
                    "in_sample_bps": {"best_ask": 2.125},
                    "out_of_sample_bps": {"best_ask": -0.375},
                }
            ]
        },
        "market": {
            "ts_ns": [T0 + i * 500_000_000 for i in range(11)],
            "best_bid": [222.79] * 11,
            "best_ask": [222.83] * 11,
        },
        "data": {"symbol": "SYN", "source": "hand-built"},
    }


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report")
    written = write_report(small_result(), out)
    return written[-1]


class _Cells(HTMLParser):
    """Collect the cell texts of every table row, by table id."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._rows = self._row = self._cell = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self._rows = self.tables.setdefault(dict(attrs).get("id", ""), [])
        elif tag == "tr" and self._rows is not None:
            self._row = []
            self._rows.append(self._row)
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table":
            self._rows = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def console_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


def test_page_loads_in_chromium_without_console_errors_and_shows_the_tables(chromium, page, tmp_path):
    done = run_chromium(chromium, tmp_path, "--dump-dom", page.as_uri())
    assert console_lines(done.stderr) == []
    cells = _Cells()
    cells.feed(done.stdout)
    head, *rows = cells.tables["summary"]
    table = {row[0]: dict(zip(head, row, strict=True)) for row in rows}
    assert table["ck_static"]["Total cash ($)"] == "44,563.10"
    assert table["ck_static"]["Average price ($)"] == "222.8155"
    assert table["ck_static"]["Catch-up shares"] == "100"
    assert table["best_ask"]["Total cash ($)"] == "44,569.60"
    assert table["best_ask"]["Savings vs this (bps)"] == "+1.4957"
    _, walk = cells.tables["walk-forward"]
    assert walk[4:] == ["best_ask", "+2.125", "-0.375"]
    assert "Degenerate sweep: all 8 parameter sets cost $44,563.10." in done.stdout


def png_size(data: bytes) -> tuple[int, int]:
    return struct.unpack(">II", data[16:24])


def test_every_figure_decodes_in_chromium_at_its_own_size(chromium, page, tmp_path):
    # A page beside the report reads the report's images once they have loaded;
    # --dump-dom then prints what it found.
    probe = tmp_path / "probe.html"
    frame = f"<iframe src='{page.as_uri()}' width='1200' height='900' onload='check(this)'></iframe>"
    probe.write_text(
        "<!DOCTYPE html><html><head><script>"
        "function check(frame) { var found = Array.from(frame.contentDocument.images).map("
        "function (i) { return [i.id, i.complete, i.naturalWidth, i.naturalHeight]; });"
        "document.getElementById('out').textContent = JSON.stringify(found); }"
        "</script></head><body><pre id='out'>not loaded</pre>"
        f"{frame}</body></html>",
        encoding="utf-8",
    )
    done = run_chromium(chromium, tmp_path, "--allow-file-access-from-files", "--dump-dom", probe.as_uri())
    found = json.loads(re.search(r"<pre id=\"out\">(.*?)</pre>", done.stdout, re.S).group(1))
    expected = {
        f"fig-{name}": png_size((page.parent / name).read_bytes())
        for name in ("results.png", "fills_by_venue.png", "sweep.png", "walk_forward.png")
    }
    assert {image_id: (w, h) for image_id, complete, w, h in found if complete} == expected


def test_screenshot_of_the_page_is_drawn(chromium, page, tmp_path):
    shot = tmp_path / "page.png"
    done = run_chromium(chromium, tmp_path, "--window-size=1280,2400", f"--screenshot={shot}", page.as_uri())
    assert console_lines(done.stderr) == []
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert png_size(data) == (1280, 2400)
