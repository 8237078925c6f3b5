"""Every file sor writes goes through ``sim.output``: never through a link, whole or not at all."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import one_line_error

from sim.cli import main
from sim.output import OutputError, atomic_open, check_target, remove, write_text

ROOT = Path(__file__).resolve().parents[1]

SCENARIO = """
[data]
source = "synthetic:venues=2,seconds=5,seed=1"
[order]
quantity = 300
[[strategies]]
name = "best_ask"
[[strategies]]
name = "ck_static"
[sweep]
strategy = "ck_static"
[sweep.grid]
lambda_over = [0.2, 0.4]
"""


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


@pytest.fixture
def scenario(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(SCENARIO)
    return path


@pytest.fixture
def victim(tmp_path):
    path = tmp_path / "victim.txt"
    path.write_text("precious\n")
    return path


# -- the writer itself --------------------------------------------------------


def test_write_replaces_a_regular_file_and_keeps_its_permissions(tmp_path):
    target = tmp_path / "r.json"
    target.write_text("old")
    target.chmod(0o640)
    write_text(target, "new")
    assert target.read_text() == "new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert leftovers(tmp_path) == []


def test_a_new_file_gets_the_umask_mode_not_the_temp_files_0600(tmp_path):
    old = os.umask(0o027)
    try:
        write_text(tmp_path / "new.json", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new.json").stat().st_mode) == 0o640


def test_a_symlink_target_is_refused_and_what_it_points_at_is_untouched(tmp_path, victim):
    link = tmp_path / "r.json"
    link.symlink_to(victim)
    with pytest.raises(OutputError, match=r"r\.json: refusing to write: it is a symbolic link"):
        write_text(link, "evil")
    assert victim.read_text() == "precious\n" and link.is_symlink()
    assert leftovers(tmp_path) == []


def test_a_dangling_symlink_is_refused_and_nothing_is_created_at_its_target(tmp_path):
    link = tmp_path / "r.json"
    link.symlink_to(tmp_path / "created-through-the-link")
    with pytest.raises(OutputError, match="symbolic link"):
        write_text(link, "evil")
    assert not (tmp_path / "created-through-the-link").exists()


def test_dev_null_is_refused_and_stays_a_device():
    with pytest.raises(OutputError, match="/dev/null: refusing to write: it is a character device"):
        write_text("/dev/null", "x")
    assert stat.S_ISCHR(os.lstat("/dev/null").st_mode)


def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "r.json"
    os.mkfifo(fifo)
    with pytest.raises(OutputError, match="it is a FIFO"):
        write_text(fifo, "x")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_a_directory_is_refused(tmp_path):
    (tmp_path / "r.json").mkdir()
    with pytest.raises(OutputError, match="it is a directory"):
        write_text(tmp_path / "r.json", "x")


def test_a_failure_while_writing_keeps_the_old_file_and_removes_the_temp_file(tmp_path):
    target = tmp_path / "r.json"
    target.write_text("previous")
    with pytest.raises(RuntimeError), atomic_open(target) as fh:
        fh.write("half of the new")
        assert len(leftovers(tmp_path)) == 1
        raise RuntimeError("disk full, say")
    assert target.read_text() == "previous"
    assert leftovers(tmp_path) == []


def test_a_full_disk_keeps_the_old_csv_whole_and_says_so_in_one_line(tmp_path, monkeypatch):
    import errno

    import sim.output

    target = tmp_path / "m.csv"
    target.write_text("the old market\n")

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(sim.output.os, "fsync", full)
    result = run("data", "synth", "--seconds", "1", "-o", target)
    one_line_error(result, f"{target}: cannot write: No space left")
    assert target.read_text() == "the old market\n" and leftovers(tmp_path) == []


def test_a_link_planted_while_writing_is_not_written_through(tmp_path, victim):
    target = tmp_path / "r.json"
    with pytest.raises(OutputError, match="symbolic link"), atomic_open(target) as fh:
        fh.write("evil")
        target.symlink_to(victim)
    assert victim.read_text() == "precious\n" and leftovers(tmp_path) == []


def test_temp_files_are_unique_and_the_last_writer_to_finish_wins(tmp_path):
    target = tmp_path / "r.json"
    with atomic_open(target) as a, atomic_open(target) as b:
        assert len(leftovers(tmp_path)) == 2 and a.name != b.name
        a.write("A")
        b.write("B")
    # b closes (and lands) first, then a replaces it: each is whole.
    assert target.read_text() == "A" and leftovers(tmp_path) == []


def test_a_link_planted_at_the_next_temp_name_is_skipped_not_followed(tmp_path, victim, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "_get_candidate_names", lambda: iter(["planted", "fresh"]))
    trap = tmp_path / ".r.json.planted.tmp"
    trap.symlink_to(victim)
    write_text(tmp_path / "r.json", "result")
    assert (tmp_path / "r.json").read_text() == "result"
    assert victim.read_text() == "precious\n" and trap.is_symlink()


def test_an_unwritable_folder_is_one_line(tmp_path):
    with pytest.raises(OutputError, match=r"nope/r\.json: cannot write: No such file or directory"):
        write_text(tmp_path / "nope" / "r.json", "x")


def test_remove_refuses_a_link_like_a_write(tmp_path, victim):
    link = tmp_path / "sweep.png"
    link.symlink_to(victim)
    with pytest.raises(OutputError, match="symbolic link"):
        remove(link)
    remove(tmp_path / "absent.png")
    assert check_target(tmp_path / "absent.png") == tmp_path / "absent.png"


def test_concurrent_threads_each_land_a_whole_file(tmp_path):
    target = tmp_path / "r.json"
    texts = [str(i) * 200_000 for i in range(8)]
    start = threading.Barrier(len(texts))

    def writer(text):
        start.wait()
        write_text(target, text)

    threads = [threading.Thread(target=writer, args=(t,)) for t in texts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert target.read_text() in texts and leftovers(tmp_path) == []


# -- through the CLI ------------------------------------------------------------


def test_run_refuses_a_symlinked_out_before_running(scenario, tmp_path, victim):
    link = tmp_path / "r.json"
    link.symlink_to(victim)
    one_line_error(run("run", scenario, "--out", link, "--quiet"), str(link), "symbolic link")
    assert victim.read_text() == "precious\n"


def test_run_refuses_dev_null_and_a_fifo_as_out(scenario, tmp_path):
    assert "character device" in one_line_error(run("run", scenario, "--out", "/dev/null", "--quiet"))
    fifo = tmp_path / "out.json"
    os.mkfifo(fifo)
    message = one_line_error(run("run", scenario, "--out", fifo, "--quiet"))
    assert str(fifo) in message and "FIFO" in message
    assert fifo.exists() and not fifo.is_file()


def test_run_refuses_a_directory_as_out_in_one_line(scenario, tmp_path):
    (tmp_path / "r.json").mkdir()
    result = run("run", scenario, "--out", tmp_path / "r.json", "--quiet")
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1
    assert "is a directory" in result.output


def test_run_refuses_a_symlinked_report_page_before_running(scenario, tmp_path, victim):
    plots = tmp_path / "plots"
    plots.mkdir()
    (plots / "report.html").symlink_to(victim)
    out = tmp_path / "r.json"
    one_line_error(
        run("run", scenario, "--out", out, "--plot", plots, "--quiet"), "report.html", "symbolic link"
    )
    assert victim.read_text() == "precious\n" and not out.exists()


def test_report_refuses_a_symlinked_figure(tmp_path, victim):
    pytest.importorskip("matplotlib")
    result_file = ROOT / "tests" / "golden" / "small.json"
    out = tmp_path / "plots"
    out.mkdir()
    (out / "results.png").symlink_to(victim)
    one_line_error(run("report", result_file, "--out", out), "results.png", "symbolic link")
    assert victim.read_text() == "precious\n"
    assert sorted(p.name for p in out.iterdir()) == ["results.png"]


def test_synth_refuses_a_symlinked_output_and_writes_atomically(tmp_path, victim):
    link = tmp_path / "m.csv"
    link.symlink_to(victim)
    one_line_error(run("data", "synth", "--seconds", "1", "-o", link), "symbolic link")
    assert victim.read_text() == "precious\n"
    real = tmp_path / "real.csv"
    real.write_text("old,file\n")
    assert run("data", "synth", "--seconds", "1", "-o", real).exit_code == 0
    assert real.read_text().startswith("ts_recv,ts_event") and leftovers(tmp_path) == []


def test_a_failed_plot_keeps_the_json_just_written(scenario, tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    import sim.report

    def broken(*args, **kwargs):
        raise sim.report.ReportError("r.json", "the plot broke")

    monkeypatch.setitem(sim.report._DRAW, "venue_mix", broken)
    out, plots = tmp_path / "r.json", tmp_path / "plots"
    result = run("run", scenario, "--out", out, "--plot", plots, "--quiet")
    one_line_error(result, "the plot broke", f"the result {out} was written")
    assert json.loads(out.read_text())["strategies"]["best_ask"]["filled_shares"] == 300
    assert not plots.exists() or list(plots.iterdir()) == []


def test_a_report_that_fails_midway_leaves_the_old_report_whole(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    import sim.report

    result_file = ROOT / "tests" / "golden" / "small.json"
    out = tmp_path / "plots"
    assert run("report", result_file, "--out", out).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def broken(*args, **kwargs):
        raise sim.report.ReportError(str(result_file), "the sweep figure broke")

    monkeypatch.setitem(sim.report._DRAW, "sweep", broken)
    one_line_error(run("report", result_file, "--out", out), "the sweep figure broke")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_two_concurrent_runs_to_one_out_never_share_a_temp_file(tmp_path):
    # Two real processes, different seeds, one --out: the file left is one run's whole output.
    scenario = tmp_path / "s.toml"
    scenario.write_text(SCENARIO.replace("seconds=5", "seconds=30"))
    out = tmp_path / "r.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "sim", "run", str(scenario), "--out", str(out), "--quiet"]
    procs = [
        subprocess.Popen([*cmd, "--seed", str(seed)], cwd=ROOT, env=env, stderr=subprocess.PIPE)
        for seed in (1, 2)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    data = json.loads(out.read_text())
    assert data["scenario"]["run"]["seed"] in (1, 2)
    assert leftovers(tmp_path) == []
