"""The HTML page: the figures as data URIs, the summary tables, inline CSS, nothing fetched.

Named ``page`` rather than ``html`` so the module never shadows the standard
library's ``html`` when a script is run from this folder.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sim.report import series
from sim.report.figures import Plotted, sweep_note
from sim.report.fmt import MISSING, bps, count, dollars, plain

SUMMARY_COLUMNS = (
    "Strategy",
    "Role",
    "Parameters",
    "Filled shares",
    "Complete?",
    "Total cash ($)",
    "Average price ($)",
    "Fees ($)",
    "Rebates ($)",
    "Catch-up shares",
    "Maker shares",
    "Savings vs this (bps)",
    "Basis",
)
WALK_FORWARD_COLUMNS = (
    "Window",
    "Tuning window",
    "Test window",
    "Best parameters",
    "Baseline",
    "In-sample savings (bps)",
    "Out-of-sample savings (bps)",
)

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2rem auto;
       max-width: 1200px; padding: 0 1rem; color: #1d1d1f; line-height: 1.45; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; }
h2 { font-size: 1.2rem; margin-top: 2.2rem; border-bottom: 1px solid #ddd; padding-bottom: .2rem; }
.meta { color: #555; margin: 0; }
figure { margin: 1rem 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #555; font-size: .9rem; }
table { border-collapse: collapse; font-size: .88rem; margin: .6rem 0; }
th, td { border: 1px solid #d0d0d0; padding: .3rem .55rem; vertical-align: top; }
th { background: #f2f4f7; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.optimized td { background: #eef6ee; font-weight: 600; }
.note { background: #fff4ce; border: 1px solid #c9a227; padding: .5rem .8rem; border-radius: 4px; }
.small { font-size: .8rem; color: #555; }
"""


def render_page(result: Mapping[str, Any], figures: Mapping[str, Plotted | None], source: str) -> str:
    """Return the report page as one self-contained HTML document.

    Parameters
    ----------
    result
        A validated result.
    figures
        The drawn figures by name (``cost_curve``, ``venue_mix``, ``sweep``,
        ``walk_forward``); ``None`` for a figure that was skipped.
    source
        What to call the result on the page (its file name, or ``"result"``).
    """
    parts = [_header(result, source)]
    parts.append(_figure(figures.get("cost_curve"), "Cumulative shares, cash and fill prices over time"))
    parts.append("<h2>Summary</h2>")
    parts.append(_summary_table(result))
    parts.append(_best_parameters(result))
    parts.append("<h2>Fills by venue and liquidity</h2>")
    parts.append(_figure(figures.get("venue_mix"), "Shares filled per strategy, by venue; maker hatched"))
    parts.append(_sweep_section(figures.get("sweep")))
    parts.append(_walk_forward_section(result, figures.get("walk_forward")))
    body = "\n".join(part for part in parts if part)
    title = html.escape(_title(result))
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{title}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


def _title(result: Mapping[str, Any]) -> str:
    symbol = (result.get("data") or {}).get("symbol")
    return f"sor report: {symbol}" if symbol else "sor report"


def _header(result: Mapping[str, Any], source: str) -> str:
    data = result.get("data") or {}
    order = result.get("order") or {}
    window = data.get("window") or {}
    facts = [f"Result: {source}"]
    if order:
        facts.append(f"Order: {order.get('side', '?')} {count(order.get('quantity'))} shares")
    if window:
        facts.append(f"Window (UTC): {window.get('start', '?')} to {window.get('end', '?')}")
    if data.get("source"):
        facts.append(f"Data: {data['source']}")
    if result.get("version"):
        facts.append(f"sor {result['version']}")
    meta = "".join(f'<p class="meta">{html.escape(str(fact))}</p>' for fact in facts)
    return f"<h1>{html.escape(_title(result))}</h1>\n{meta}"


def _figure(plotted: Plotted | None, caption: str) -> str:
    if plotted is None:
        return ""
    encoded = base64.b64encode(plotted.png).decode("ascii")
    name = html.escape(plotted.path.name)
    return (
        f'<figure><img src="data:image/png;base64,{encoded}" alt="{html.escape(caption)}" id="fig-{name}">'
        f"<figcaption>{html.escape(caption)} ({name})</figcaption></figure>"
    )


def _summary_table(result: Mapping[str, Any]) -> str:
    optimized = (result.get("optimized") or {}).get("strategy")
    savings = result.get("savings_vs_baselines_bps") or {}
    basis = result.get("savings_basis") or {}
    owners = _baseline_owners(result)
    rows = []
    for name, strategy in result["strategies"].items():
        baseline = owners.get(name)
        role = "optimized" if name == optimized else ("baseline" if baseline is not None else "")
        cells = [
            (name, False),
            (role, False),
            (_parameters(strategy.get("parameters")), False),
            (count(strategy["filled_shares"]), True),
            ("yes" if strategy["complete"] else "no", False),
            (dollars(strategy["total_cash"]), True),
            (dollars(strategy["avg_fill_px"]), True),
            (dollars(strategy["fees"]), True),
            (dollars(strategy["rebates"]), True),
            (count(strategy["catch_up_shares"]), True),
            (count(strategy["maker_shares"]), True),
            (bps(savings.get(baseline)) if baseline is not None else MISSING, True),
            (str(basis.get(baseline, MISSING)) if baseline is not None else MISSING, False),
        ]
        rows.append((cells, "optimized" if role == "optimized" else ""))
    note = (
        '<p class="small">Savings vs this: how much cheaper the optimized strategy was than this '
        "baseline, (baseline \u2212 optimized) / baseline \u00d7 10,000, on the basis shown; "
        "positive means the optimized strategy paid less.</p>"
    )
    return _table("summary", SUMMARY_COLUMNS, rows) + note


def _baseline_owners(result: Mapping[str, Any]) -> dict[str, str]:
    # A baseline is keyed by its own name; the strategy it ran may carry another key.
    owners: dict[str, str] = {}
    for baseline, entry in (result.get("baselines") or {}).items():
        strategy = entry.get("strategy") if isinstance(entry, Mapping) else None
        key = baseline if baseline in result["strategies"] else strategy
        if key is not None:
            owners.setdefault(key, baseline)
    for baseline in result.get("savings_vs_baselines_bps") or {}:
        if baseline in result["strategies"]:
            owners.setdefault(baseline, baseline)
    return owners


def _best_parameters(result: Mapping[str, Any]) -> str:
    best = result.get("best_parameters")
    if not best:
        return ""
    return f'<p id="best-parameters">Best parameters: {html.escape(_parameters(best))}</p>'


def _sweep_section(plotted: Plotted | None) -> str:
    if plotted is None:
        return ""
    grid: series.SweepGrid = plotted.data
    names = [n for n in (grid.x_name, grid.y_name, grid.panel_name) if n] + list(grid.held)
    text = f"{grid.rows} parameter sets over {', '.join(names)}; the chosen one is marked."
    note = sweep_note(grid)
    parts = ["<h2>Parameter sweep</h2>", f"<p>{html.escape(text)}</p>"]
    if note:
        parts.append(f'<p class="note" id="sweep-degenerate">{html.escape(note)}</p>')
    parts.append(_figure(plotted, "Total cost over the parameter grid"))
    return "\n".join(parts)


def _walk_forward_section(result: Mapping[str, Any], plotted: Plotted | None) -> str:
    walk = result.get("walk_forward")
    if not walk or not walk["windows"]:
        return ""
    rows = []
    for i, window in enumerate(walk["windows"]):
        in_sample = window["in_sample_bps"]
        out_of_sample = window["out_of_sample_bps"]
        for baseline in dict.fromkeys([*in_sample, *out_of_sample]):
            cells = [
                (str(i + 1), True),
                (_span(window.get("tune")), False),
                (_span(window.get("test")), False),
                (_parameters(window.get("best_parameters")), False),
                (baseline, False),
                (bps(in_sample.get(baseline)), True),
                (bps(out_of_sample.get(baseline)), True),
            ]
            rows.append((cells, ""))
    parts = [
        "<h2>Walk-forward: in-sample against out-of-sample</h2>",
        _table("walk-forward", WALK_FORWARD_COLUMNS, rows),
        _figure(plotted, "Savings in each tuning window and in the test window after it"),
    ]
    return "\n".join(part for part in parts if part)


def _table(table_id: str, columns: Sequence[str], rows: Iterable[tuple[list[tuple[str, bool]], str]]) -> str:
    head = "".join(f'<th scope="col">{html.escape(c)}</th>' for c in columns)
    body = []
    for cells, css in rows:
        tds = "".join(
            f'<td class="num">{html.escape(text)}</td>' if numeric else f"<td>{html.escape(text)}</td>"
            for text, numeric in cells
        )
        body.append(f'<tr class="{css}">{tds}</tr>' if css else f"<tr>{tds}</tr>")
    return (
        f'<table id="{table_id}">\n<thead><tr>{head}</tr></thead>\n<tbody>\n'
        + "\n".join(body)
        + "\n</tbody>\n</table>"
    )


def _parameters(parameters: Any) -> str:
    if not parameters:
        return MISSING
    if isinstance(parameters, Mapping):
        return ", ".join(f"{name}={plain(value)}" for name, value in parameters.items())
    return plain(parameters)


def _span(window: Any) -> str:
    if window is None:
        return MISSING
    if isinstance(window, Mapping) and "start" in window and "end" in window:
        return f"{window['start']} to {window['end']}"
    return _parameters(window)
