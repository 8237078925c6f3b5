"""A study result's checks and its HTML page: the figure, the summary table, the method, skipped markets."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from sim.report.figures import Plotted
from sim.report.fmt import MISSING, bps, count
from sim.report.load import ReportError, _Checker
from sim.report.page import _CSS, _figure, _table

CELL_FIELDS = (
    "n",
    "mean_bps",
    "sd_bps",
    "se_bps",
    "ci95_low_bps",
    "ci95_high_bps",
    "median_bps",
    "win_rate",
    "incomplete",
)
COLUMNS = (
    "Strategy",
    "vs",
    "Markets",
    "Mean (bps)",
    "95% CI, t (bps)",
    "95% CI, bootstrap (bps)",
    "sd (bps)",
    "Median (bps)",
    "Win rate",
    "Incomplete",
    "Markets for 80% power",
)


def validate_study(result: Mapping[str, Any], source: str = "result") -> None:
    """Check that a study result holds every field its report reads; one-line ``ReportError`` if not."""
    check = _Checker(source)
    study = check.mapping(check.field(result, "study", "study"), "study")
    markets = check.sequence(check.field(study, "markets", "study.markets"), "study.markets")
    check.mapping(check.field(study, "baselines", "study.baselines"), "study.baselines")
    for block in ("summary", "out_of_sample"):
        table = check.mapping(check.field(study, block, f"study.{block}"), f"study.{block}")
        for name, against in table.items():
            against = check.mapping(against, f"study.{block}.{name}")
            for baseline, cell in against.items():
                where = f"study.{block}.{name}.{baseline}"
                cell = check.mapping(cell, where)
                for key in CELL_FIELDS:
                    check.field(cell, key, f"{where}.{key}")
                    check.number(cell[key], f"{where}.{key}", nullable=key != "n")
                for i, row in enumerate(markets):
                    _check_saving(check, row, f"study.markets[{i}]", block, name, baseline)
    if not markets:
        raise ReportError(source, "holds no market", "study.markets")


def _check_saving(check: _Checker, row: Any, where: str, block: str, name: str, baseline: str) -> None:
    row = check.mapping(row, where)
    if block == "summary":
        per = check.mapping(check.field(row, "savings_bps", f"{where}.savings_bps"), f"{where}.savings_bps")
        where = f"{where}.savings_bps.{name}"
        per = check.mapping(check.field(per, name, where), where)
    else:
        entry = check.mapping(check.field(row, block, f"{where}.{block}"), f"{where}.{block}")
        where = f"{where}.{block}.savings_bps"
        per = check.mapping(check.field(entry, "savings_bps", where), where)
    check.number(check.field(per, baseline, f"{where}.{baseline}"), f"{where}.{baseline}", nullable=True)


def _rate(value: Any) -> str:
    return MISSING if value is None else f"{float(value) * 100:.1f}%"


def _ci(cell: Mapping[str, Any], prefix: str = "") -> str:
    low, high = cell.get(f"{prefix}ci95_low_bps"), cell.get(f"{prefix}ci95_high_bps")
    return MISSING if low is None or high is None else f"{bps(low)} to {bps(high)}"


def _rows(study: Mapping[str, Any]) -> list[tuple[list[tuple[str, bool]], str]]:
    swept = (study.get("sweep") or {}).get("strategy")
    rows = []
    blocks = (("summary", " (in-sample best)"), ("out_of_sample", " (out of sample)"))
    for block, suffix in blocks:
        for name, against in study[block].items():
            label = name + (suffix if name == swept else "")
            for baseline, cell in against.items():
                power = cell.get("markets_for_80pct_power")
                cells = [
                    (label, False),
                    (baseline, False),
                    (count(cell["n"]), True),
                    (bps(cell["mean_bps"]), True),
                    (_ci(cell), True),
                    (_ci(cell, "bootstrap_"), True),
                    (MISSING if cell["sd_bps"] is None else str(cell["sd_bps"]), True),
                    (bps(cell["median_bps"]), True),
                    (_rate(cell["win_rate"]), True),
                    (count(cell["incomplete"]), True),
                    (MISSING if power is None else count(power), True),
                ]
                rows.append((cells, "optimized" if block == "out_of_sample" else ""))
    return rows


def render_study_page(result: Mapping[str, Any], plotted: Plotted | None, source: str) -> str:
    """Return the study's report page as one self-contained HTML document."""
    study = result["study"]
    method = study.get("method") or {}
    facts = [
        f"Result: {source}",
        f"Markets: {study.get('markets_run', len(study['markets']))} run of "
        f"{study.get('markets_planned', len(study['markets']))} "
        f"({study.get('markets_skipped', 0)} skipped)",
    ]
    if result.get("version"):
        facts.append(f"sor {result['version']}")
    parts = ["<h1>sor study</h1>"]
    parts += [f'<p class="meta">{html.escape(str(fact))}</p>' for fact in facts]
    parts.append(_figure(plotted, "Savings per market, with the mean and its 95% confidence intervals"))
    parts.append("<h2>Savings against each baseline, over markets</h2>")
    parts.append(_table("study-summary", COLUMNS, _rows(study)))
    parts.append("<h2>Method</h2>")
    parts.append(
        "<ul>"
        + "".join(
            f"<li><b>{html.escape(key.replace('_', ' '))}</b>: {html.escape(str(text))}</li>"
            for key, text in method.items()
            if text
        )
        + "</ul>"
    )
    skipped = study.get("skipped") or []
    if skipped:
        parts.append("<h2>Skipped markets</h2>")
        parts.append(
            "<ul>"
            + "".join(
                f"<li>{html.escape(str(s.get('id')))}: {html.escape(str(s.get('error')))}</li>"
                for s in skipped
            )
            + "</ul>"
        )
    body = "\n".join(p for p in parts if p)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>sor study</title>\n<style>{_CSS}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )
