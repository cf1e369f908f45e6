"""xnpu-bench on small sizes: what it writes, what it refuses, and the calibration's
bookkeeping. (The published figures themselves are checked by `xnpu-bench paper`,
a benchmark, not here.)"""

import csv
import importlib.util
import json
import sys
from pathlib import Path

import pytest

from xnpu.bench import cli, db_sweep, ladder, mt_scaling
from xnpu.bench.engine import Engine
from xnpu.bench.measure import BenchError, BenchKernel, Variant, bench_kernel, measure
from xnpu.bench.output import Progress
from xnpu.bench.paper import compare, render
from xnpu.bench.paper import failed as paper_failed
from xnpu.bench.published import FIGURES, TOLERANCE, derived_from, independent, runs_needed
from xnpu.kernels import corpus_kernel
from xnpu.kernels.cases import make_case
from xnpu.kernels.inductor import ROWS
from xnpu.machines import MACHINES_DIR, MachineError, load_machine

ROOT = Path(__file__).parent.parent
LADDER_ROW_KEYS = {
    "kernel": str, "variant": str, "level": str, "options": dict, "rung": bool, "cycles": float,
    "microseconds": float, "speedup_over_scalar": float, "ddr_bytes": int, "dma_bytes": int,
    "dma_busy_cycles": float, "overlap_cycles": float, "roofline_cycles": float, "roofline_bound": str,
    "roofline_fraction": float, "output": str,
}  # fmt: skip


@pytest.fixture(scope="module")
def ladder_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("ladder")
    status = cli.main(
        ["ladder", "--kernel", "vector_add", "--size", "1M", "--out", str(out), "--quiet"]
    )
    return status, out


def test_ladder_writes_json_csv_table_and_plot(ladder_run):
    status, out = ladder_run
    assert status == 0
    result = json.loads((out / "ladder.json").read_text())
    assert result["command"] == "ladder" and result["machine"] == "edge-npu"
    styles = ["vector_add (reference style)", "vector_add (grid style)"]
    assert result["elements"] == 1 << 20 and result["kernels"] == styles
    assert [r["variant"] for r in result["rows"]] == [v.name for v in ladder.VARIANTS] * 2
    assert [r["grid"] for r in result["rows"]][:: len(ladder.VARIANTS)] == [[1], [1024]]
    for row in result["rows"]:
        for key, kind in LADDER_ROW_KEYS.items():
            assert isinstance(row[key], kind if kind is not float else (int, float)), (
                key,
                row[key],
            )
        assert 0 < row["roofline_fraction"] <= 1
        assert row["output"] == "matches PyTorch"
    steps = {r["variant"]: r["step_speedup"] for r in result["rows"]}
    assert steps["scalar"] is None and steps["vec"] > 1
    rows = list(csv.DictReader((out / "ladder.csv").open()))
    assert len(rows) == 2 * len(ladder.VARIANTS) and rows[0]["variant"] == "scalar"
    assert "vec+mt, DMA without overlap" in (out / "ladder.txt").read_text()
    assert (out / "ladder.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_ladder_on_vector_add_is_monotone(ladder_run):
    _, out = ladder_run
    result = json.loads((out / "ladder.json").read_text())
    rows = {r["variant"]: r for r in result["rows"] if r["style"] == "reference"}
    cycles = [rows[level]["cycles"] for level in ladder.RUNGS]
    assert cycles == sorted(cycles, reverse=True) and len(set(cycles)) == len(cycles)
    # DB's parts: prefetching never loses to DMA waited for at once, async never to sync
    assert rows["vec+mt+db"]["cycles"] <= rows["vec+mt+db, sync write-back"]["cycles"]
    assert (
        rows["vec+mt+db, sync write-back"]["cycles"]
        <= rows["vec+mt, DMA without overlap"]["cycles"]
    )
    assert (
        rows["vec+mt"]["dma_bytes"] == 0
        and rows["vec+mt+db"]["dma_bytes"] == rows["vec+mt+db"]["ddr_bytes"]
    )


def _wrong_vector_add() -> BenchKernel:
    def case(n, seed):
        made = make_case("vector_add", n, seed)
        x, y = made.args[0], made.args[1]
        made.expected = {2: x - y}  # a reference the kernel does not compute
        return made

    return BenchKernel("vector_add (wrong reference)", corpus_kernel("vector_add"), case)


def test_a_wrong_output_is_refused():
    with pytest.raises(
        BenchError, match=r"wrong output, so no timing is reported: .*argument 2 differs"
    ):
        measure(_wrong_vector_add(), Variant.of("vec"), 4096, load_machine())


def test_the_cli_reports_no_timing_for_a_wrong_output(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(ladder, "bench_kernel", lambda name, style: _wrong_vector_add())
    status = cli.main(
        [
            "ladder",
            "--kernel",
            "vector_add",
            "--size",
            "4K",
            "--json",
            str(tmp_path / "r.json"),
            "--quiet",
        ]
    )
    captured = capsys.readouterr()
    assert status == 1
    assert "wrong output" in captured.err and "µs" not in captured.out
    assert not (tmp_path / "r.json").exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["ladder", "--kernel", "inductor/nope"], "invalid choice"),
        (["ladder", "--style", "tiled"], "invalid choice"),
        (["ladder", "--size", "0"], "bad size '0'"),
        (["mt-scaling", "--sizes", "4K,,8K"], "bad size ''"),
        (["mt-scaling", "--contexts", "0"], "expected positive integers"),
        (["db-sweep", "--degrees", "two"], "expected positive integers"),
    ],
)
def test_bad_options_are_usage_errors(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main([*argv, "--quiet"])
    assert exit_.value.code == 2 and message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["mt-scaling", "--contexts", "7"], "has 6 hardware threads"),
        (["ladder", "--machine", "no-such-npu"], "no machine model 'no-such-npu'"),
        (["ladder", "--plot", "ladder.pdf"], "plots are PNG files"),
        (["paper", "--json", "/no/such/dir/paper.json"], "does not exist"),
        (["paper", "--out", __file__], "exists and is not a directory"),
    ],
)
def test_unusable_requests_fail_before_running(argv, message, capsys):
    assert cli.main([*argv, "--quiet"]) == 1
    captured = capsys.readouterr()
    assert message in captured.err and captured.out == ""


def test_mt_scaling_finds_where_mt_starts_to_win(tmp_path):
    status = cli.main(
        [
            "mt-scaling",
            "--kernel",
            "gelu",
            "--sizes",
            "1K,1M",
            "--json",
            str(tmp_path / "m.json"),
            "--quiet",
        ]
    )
    result = json.loads((tmp_path / "m.json").read_text())
    assert status == 0
    small, large = result["rows"]
    assert not small["mt_wins"] and small["speedup"] < 1  # one tile: fork and join for nothing
    assert not small["model_applies_mt"] and "kept on one context" in small["model_decision"]
    assert large["mt_wins"] and large["speedup"] > 2 and large["model_applies_mt"]
    assert result["crossover_elements"] == {"gelu": 1 << 20}


def test_crossover_is_where_mt_wins_from_on():
    def rows(*wins):
        return [{"elements": 1024 << i, "mt_wins": w} for i, w in enumerate(wins)]

    assert mt_scaling.crossover(rows(False, True, True)) == 2048
    assert mt_scaling.crossover(rows(True, False, True)) == 4096
    assert mt_scaling.crossover(rows(True, True)) == 1024
    assert mt_scaling.crossover(rows(True, False)) is None
    assert mt_scaling.parse_sizes("4K,1M,3000,4096") == [3000, 4096, 1 << 20]


def test_db_sweep_gains_most_between_the_extremes():
    progress = Progress(0, enabled=False)
    result = db_sweep.run([1, 2, 4, 256], 16384, [1], load_machine(), progress)
    gains = [r["overlap_gain"] for r in result["rows"]]
    ratios = [r["compute_over_transfer"] for r in result["rows"]]
    assert ratios == sorted(ratios) and ratios[0] < 0.5 and ratios[-1] > 10
    peak = max(result["rows"], key=lambda r: r["overlap_gain"])
    assert 0.5 < peak["compute_over_transfer"] < 2  # where compute is about the transfer
    assert peak["overlap_gain"] > max(gains[0], gains[-1]) and peak["overlap_gain"] > 1.3
    assert result["peaks"]["1"]["degree"] == peak["degree"]


def _times_matching_the_figures() -> dict:
    """µs of every run the figures need, made up to reproduce every published time and
    every speedup whose times are not published (the first of two for one quantity)."""
    times = {f.runs[0]: f.value for f in FIGURES if not f.over}
    for f in FIGURES:
        if f.over and f.runs[0] not in times:
            times[f.runs[0]] = 100.0
        if f.over and f.runs[1] not in times:
            times[f.runs[1]] = times[f.runs[0]] * f.value
    return times


def test_paper_comparison_computes_relative_errors():
    machine = load_machine()
    times = _times_matching_the_figures()
    mt = "gelu_tanh multi-threaded (vec+mt) speedup over vec"
    rows = {(r["figure"], r["source"]): r for r in compare(times, machine)["rows"]}
    for (name, source), row in rows.items():
        if (name, source) != (mt, "arXiv 2602.19762"):
            assert abs(row["relative_error"]) < 0.01, name  # speedups follow from the times
    # the two papers' GELU multi-threading speedups at 1M: 3.91x and 3.40x
    assert rows[mt, "arXiv 2602.19762"]["relative_error"] == pytest.approx(
        12_947 / 3_313 / 3.40 - 1
    )
    off = {**times, ("gelu_tanh", "vec+mt", 1 << 20): 3_313 * 1.2}
    rows = {r["figure"]: r for r in compare(off, machine)["rows"]}
    assert rows["gelu_tanh multi-threaded (vec+mt) µs"]["relative_error"] == pytest.approx(0.2)
    assert not rows["gelu_tanh multi-threaded (vec+mt) µs"]["within_tolerance"]
    assert TOLERANCE == 0.15


def test_published_figures_carry_sources_and_ratios_of_published_times_are_derived():
    assert {f.source for f in FIGURES} == {"arXiv 2602.20204", "arXiv 2602.19762"}
    derived = [f.name for f in FIGURES if derived_from(f)]
    assert derived == [
        "vector_add vec speedup over scalar",
        "vector_add vec+mt speedup over vec",
        "vector_add vec+mt+db speedup over vec+mt",
        "gelu_tanh multi-threaded (vec+mt) speedup over vec",  # 2602.20204's, from its times
    ]
    assert len(independent()) == 10
    assert ("gelu_tanh", "vec", 32_768) in runs_needed()


def test_paper_fails_when_a_figure_is_outside_the_tolerance():
    machine = load_machine()
    times = _times_matching_the_figures()
    assert not paper_failed(compare(times, machine))
    times[("gelu_tanh_fp16", "scalar", 1 << 20)] = 100.0 * 50  # 50x where 63.9x was published
    result = compare(times, machine)
    assert paper_failed(result) and "1 of 14 figures outside ±15" in render(result)


def _calibrate_module():
    spec = importlib.util.spec_from_file_location("calibrate", ROOT / "benchmarks" / "calibrate.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["calibrate"] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_every_machine_value_says_where_it_comes_from_and_fitted_ones_are_in_range():
    calibrate = _calibrate_module()
    for line in (MACHINES_DIR / "edge-npu.toml").read_text().splitlines():
        value, _, comment = line.partition("#")
        if "=" in value and '"' not in value:  # a number, not the name or description
            assert comment.strip().split(" ")[0].rstrip(":") in ("public", "fitted", "estimate"), (
                line
            )
    parameters = calibrate.fitted_parameters(MACHINES_DIR / "edge-npu.toml")
    assert len(parameters) <= len(independent()) - 3
    machine = load_machine()
    for p in parameters:
        assert p.low <= machine.value(p.key) <= p.high, p.key
        assert all(machine.value(t) == machine.value(p.key) for t in p.tied), p.key
    tied = {p.key: p.tied for p in parameters}
    assert tied["vector.fp_add"] == ("vector.fp_mul",)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[dma]\nsetup_cycles = 4   # fitted: by hand\n", "gives no range"),
        ("[dma]\nsetup_cycles = 4   # fitted in 9..3: x\n", "range 9..3 is empty"),
        ("[dma]\nsetup_cycles = 4   # fitted as dma.engines\n", "not fitted"),
    ],
)
def test_fitted_parameters_must_declare_a_range(tmp_path, text, message):
    calibrate = _calibrate_module()
    path = tmp_path / "m.toml"
    path.write_text(text)
    with pytest.raises(MachineError, match=message):
        calibrate.fitted_parameters(path)


def test_calibrate_writes_values_and_keeps_comments(tmp_path):
    calibrate = _calibrate_module()
    path = tmp_path / "m.toml"
    path.write_text("[dma]\nsetup_cycles = 400   # fitted: something\nengines = 1   # public: x\n")
    calibrate.write_values(path, {"dma.setup_cycles": 773})
    assert (
        path.read_text()
        == "[dma]\nsetup_cycles = 773   # fitted: something\nengines = 1   # public: x\n"
    )
    with pytest.raises(SystemExit, match="does not say so"):
        calibrate.write_values(path, {"dma.engines": 2})


def test_machine_values_can_be_overridden_and_are_checked():
    machine = load_machine()
    changed = machine.with_values({"dma.setup_cycles": 10, "vector.fp_div": 50.5})
    assert (changed.dma.setup_cycles, changed.vector["fp_div"]) == (10, 50.5)
    assert machine.value("dma.setup_cycles") != 10  # the original is untouched
    with pytest.raises(MachineError, match="no parameter 'dma.setup'"):
        machine.with_values({"dma.setup": 1})
    with pytest.raises(MachineError, match="setup_cycles must be an integer"):
        machine.with_values({"dma.setup_cycles": 1.5})
    with pytest.raises(MachineError, match="core_bytes_per_cycle .* exceeds"):
        machine.with_values({"ddr.core_bytes_per_cycle": 80.0})


def test_bench_kernels_scale_and_fixed_shape_ones_do_not():
    assert bench_kernel("softmax").make_case(3000, 0).grid == (3,)  # rows of 1,024
    assert bench_kernel("inductor/layer_norm").case(10**6, 0).grid == (ROWS,)
    assert bench_kernel("gelu", "reference").case(3000, 0).grid == (1,)
    assert bench_kernel("gelu", "reference").sized(3000).source.constexprs["BLOCK_SIZE"] == 4096
    assert bench_kernel("gelu", "reference").case(3 << 20, 0).grid == (3,)  # BLOCK at most 1M
    with pytest.raises(BenchError, match="runs grid style only"):
        bench_kernel("inductor/layer_norm", "reference")


def test_the_joint_fit_recovers_known_values_and_says_what_no_figure_constrains(monkeypatch):
    """calibrate() on a stand-in for the simulator whose times are known functions of
    the parameters: it finds the values that reproduce the figures, keeps a parameter
    that moves no figure, and its leave-one-out fit cannot predict a figure that alone
    constrains its parameter."""
    calibrate = _calibrate_module()
    machine = load_machine()
    truth = {"ddr.bytes_per_cycle": 6.0, "scalar.fp_add": 5.0, "vector.fp_add": 8.0}
    depends_on = {  # run -> (parameter, exponent): the stand-in simulator's law
        "vector_add": ("ddr.bytes_per_cycle", -1.0),
        "gelu_tanh": ("vector.fp_add", 1.0),
        "gelu_tanh_fp16": ("scalar.fp_add", 1.0),
    }
    base = _times_matching_the_figures()

    def stand_in(m, progress=None, runs=None):
        times = {}
        for run in runs or runs_needed():
            key, power = depends_on[run[0]]
            moved = (m.value(key) / truth[key]) ** power if "scalar" not in run[1] else 1.0
            times[run] = base[run] * (moved if run[0] != "gelu_tanh_fp16" else 1 / moved)
        return times

    monkeypatch.setattr(calibrate, "simulate", stand_in)
    result = calibrate.calibrate(machine, loo=True, quiet=True)
    by_key = {p.key: (p, c) for p, c in zip(result.parameters, result.constrained)}
    for key, value in truth.items():
        assert by_key[key][1], key
        assert result.fitted.value(key) == pytest.approx(value, rel=0.03), key
    assert not by_key["threads.fork_cycles"][1]  # no figure moves it: kept as it was
    assert result.fitted.value("threads.fork_cycles") == machine.value("threads.fork_cycles")
    # gelu_tanh_fp16's speedup alone sees scalar.fp_add: left out, scalar.fp_add takes
    # the middle of its range (1..6), so the figure is not predicted
    fp16 = next(f for f in FIGURES if f.kernel == "gelu_tanh_fp16")
    vadd = next(f for f in FIGURES if f.runs[0] == ("vector_add", "vec", 1 << 20) and not f.over)
    assert abs(result.leave_one_out[vadd.name] / vadd.value - 1) < 0.01  # three others see ddr
    assert abs(result.leave_one_out[fp16.name] / fp16.value - 1) > 0.2
    assert "not constrained by the figures" in calibrate.report(result)


def test_calibrations_evaluations_run_on_the_explorers_engine():
    """The Jacobian's points evaluated side by side on an engine give what one
    evaluation in this process gives."""
    calibrate = _calibrate_module()
    machine = load_machine()
    parameters = calibrate.fitted_parameters(Path(machine.source))[:1]  # DDR's bandwidth
    with Engine("local") as engine:
        model = calibrate.Model(machine, parameters, quiet=True, engine=engine)
        nudged = model.start + 0.1
        model.prefetch([model.start, nudged])
    assert model.evaluations == 2
    by_itself = calibrate.Model(machine, parameters, quiet=True)
    assert model.microseconds(nudged) == by_itself.microseconds(nudged)
    assert model.microseconds(nudged) != model.microseconds(model.start)
