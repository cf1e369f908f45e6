"""The explorer: sweep specs, the result store, sweeps on Ray and in-process, resuming
a killed sweep, the search, Pareto fronts and the command line."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from xnpu.bench.cli import main
from xnpu.bench.engine import Engine, evaluate, tasks_for
from xnpu.bench.explore import StopRequest, db_gains, pareto_front, run_sweep, sensitivity
from xnpu.bench.measure import BenchError, Variant, bench_kernel, measure
from xnpu.bench.mt_scaling import parse_sizes
from xnpu.bench.search import search
from xnpu.bench.store import ResultStore
from xnpu.bench.sweep import Point, SweepSpec, load_spec, parse_assignments
from xnpu.machines import load_machine

SMALL = SweepSpec(
    kernels=["vector_add", "gelu"],
    sizes=[4096, 16384],
    levels=["vec+mt", "vec+mt+db"],
    machine_values={"ddr.bytes_per_cycle": [4.77, 19.08]},
    name="small",
)


@pytest.fixture(scope="module")
def ray_engine():
    """One local Ray for the module's sweeps (it takes a few seconds to start)."""
    handlers = [signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)]
    environment = dict(os.environ)
    with Engine("ray", jobs=2) as engine:
        yield engine
    # Ray's own signal handlers and the variables set for it are gone with it
    assert [signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)] == handlers
    assert {k: v for k, v in os.environ.items() if k.startswith("RAY_")} == {
        k: v for k, v in environment.items() if k.startswith("RAY_")
    }


# ---- specs


def test_a_spec_file_gives_the_product_of_its_axes(tmp_path):
    spec_file = tmp_path / "s.toml"
    spec_file.write_text(
        'kernels = ["gelu"]\nsizes = ["4K", 65536]\nlevels = ["vec+mt", "vec+mt+db"]\n'
        '[set]\n"ddr.bytes_per_cycle" = [4.77, 9.54]\n'
        "[set.dma]\nsetup_cycles = [100, 500, 2000]\n"
        '[options]\ncontexts = [1, 4]\nwriteback = ["async", "sync"]\n'
    )
    spec = load_spec(spec_file, parse_sizes)
    assert spec.name == "s" and spec.sizes == [4096, 65536]
    assert spec.machine_values == {"ddr.bytes_per_cycle": [4.77, 9.54],
                                   "dma.setup_cycles": [100, 500, 2000]}  # fmt: skip
    points = spec.points()
    # writeback is read by db only: vec+mt has 2 x 2 x 3 x 2 points, vec+mt+db twice that
    assert len(points) == 24 + 48
    assert all(("writeback" in dict(p.options)) == (p.level == "vec+mt+db") for p in points)
    assert len({p.identity(spec.base_machine()) for p in points}) == len(points)


def test_a_points_id_is_stable_and_names_its_machine():
    machine = load_machine()
    point = Point("gelu", 4096, "vec", (), (("ddr.bytes_per_cycle", 9.54),))
    again = Point("gelu", 4096, "vec", (), (("ddr.bytes_per_cycle", 9.54),))
    other = Point("gelu", 4096, "vec", (), (("ddr.bytes_per_cycle", 19.08),))
    assert point.identity(machine) == again.identity(machine) != other.identity(machine)
    changed_base = machine.with_values({"dma.setup_cycles": 1})
    assert point.identity(machine) != point.identity(changed_base)


@pytest.mark.parametrize(
    "spec, message",
    [
        (SweepSpec(["gelu"], [4096], ["vec"], machine_values={"ddr.speed": [1]}),
         "no parameter 'ddr.speed'"),
        (SweepSpec(["gelu"], [4096], ["vec"], options={"threads": [2]}),
         "unknown compiler option 'threads'"),
        (SweepSpec(["gelu"], [4096], ["vec+tc"]), "unknown level 'vec\\+tc'"),
        (SweepSpec(["gelu"], [4096], ["vec+db"], options={"writeback": ["fast"]}),
         "writeback is one of 'async', 'sync', not 'fast'"),
        (SweepSpec(["gelu"], [4096], ["vec"], options={"contexts": [0]}),
         "contexts must be at least 1"),
        (SweepSpec(["nope"], [4096], ["vec"]), "no benchmark kernel 'nope'"),
        (SweepSpec(["gelu"], [0], ["vec"]), "positive number of elements"),
        (SweepSpec(["gelu", "flash_attention"], [65536], ["vec"]),
         "flash_attention's size is one dimension of its problem"),
        (SweepSpec(["gelu"], [4096], ["vec"], machine_values={"dma.setup_cycles": ["x"]}),
         "is not a number"),
    ],
)  # fmt: skip
def test_a_spec_no_point_could_run_is_refused_before_any_runs(spec, message):
    with pytest.raises(BenchError, match=message):
        spec.points()


def test_command_line_assignments_take_lists_and_size_suffixes():
    assert parse_assignments(["scratchpad.capacity_bytes=1M,8M", "writeback=sync"], "--set") == {
        "scratchpad.capacity_bytes": [1 << 20, 8 << 20],
        "writeback": ["sync"],
    }
    with pytest.raises(BenchError, match="is not KEY=VALUE"):
        parse_assignments(["contexts"], "--option")


# ---- analyses on rows


def test_the_pareto_front_keeps_what_nothing_beats():
    rows = [
        {"cycles": 100, "scratchpad_bytes": 8, "contexts_used": 4},
        {"cycles": 200, "scratchpad_bytes": 4, "contexts_used": 4},
        {"cycles": 300, "scratchpad_bytes": 4, "contexts_used": 1},
        {"cycles": 300, "scratchpad_bytes": 8, "contexts_used": 4},  # beaten by the first
        {"cycles": None, "scratchpad_bytes": 1, "contexts_used": 1},  # did not run
    ]
    assert [r["cycles"] for r in pareto_front(rows)] == [100, 200, 300]
    assert [r["cycles"] for r in pareto_front(rows, ("cycles", "scratchpad_bytes"))] == [100, 200]


def test_sensitivity_and_db_gain_compare_points_that_differ_in_one_thing():
    rows = [
        {"kernel": "k", "size": 1, "level": level, "contexts": c, "cycles": cycles}
        for level, c, cycles in [("vec+mt", 1, 400.0), ("vec+mt", 4, 100.0),
                                 ("vec+mt+db", 1, 200.0), ("vec+mt+db", 4, 80.0)]
    ]  # fmt: skip
    found = sensitivity(rows, ["level", "contexts"])["k"]
    assert found["contexts"].median == pytest.approx((4.0 + 2.5) / 2)
    assert found["contexts"].largest == pytest.approx(4.0)
    assert found["level"].median == pytest.approx((2.0 + 1.25) / 2)
    gains = sorted(gain for _, gain in db_gains(rows, ["level", "contexts"]))
    assert gains == [pytest.approx(1.25), pytest.approx(2.0)]


# ---- the store


def test_the_store_holds_a_point_once_and_adds_columns_as_they_come(tmp_path):
    with ResultStore(tmp_path / "r.duckdb") as store:
        assert store.add([{"id": "a", "kernel": "k", "contexts": 2}]) == 1
        assert store.add([{"id": "a", "kernel": "k", "contexts": 2},
                          {"id": "b", "kernel": "k", "ddr.bytes_per_cycle": 9.5}]) == 1  # fmt: skip
        assert store.done(["a", "b", "c"]) == {"a", "b"}
        assert store.query('SELECT "ddr.bytes_per_cycle" FROM points WHERE id = ?', ["b"])[1] == [
            (9.5,)
        ]
    with pytest.raises(BenchError, match="no result store"):
        ResultStore(tmp_path / "missing.duckdb", read_only=True)
    (tmp_path / "junk.duckdb").write_text("not a database")
    with pytest.raises(BenchError, match="not a DuckDB result store"):
        ResultStore(tmp_path / "junk.duckdb")


# ---- sweeps


def test_a_sweep_on_ray_stores_every_point_with_the_simulators_numbers(ray_engine, tmp_path):
    with ResultStore(tmp_path / "r.duckdb") as store:
        result = run_sweep(SMALL, store, ray_engine)
        assert (result.points, result.already_done, result.ran) == (16, 0, 16)
        _, rows = store.query("SELECT status, count(*) FROM points GROUP BY status")
        assert rows == [("ok", 16)]
        # the store's figures are the simulator's, point for point
        row = store.records(
            "SELECT * FROM points WHERE kernel = 'gelu' AND size = 16384 AND level = 'vec+mt+db' "
            'AND "ddr.bytes_per_cycle" = 19.08'
        )[0]
        machine = load_machine().with_values({"ddr.bytes_per_cycle": 19.08})
        report = measure(bench_kernel("gelu"), Variant.of("vec+mt+db"), 16384, machine).report
        assert row["cycles"] == pytest.approx(report.cycles)
        assert row["scratchpad_bytes"] == report.scratchpad_bytes > 0
        assert row["ddr_bytes"] == report.ddr_bytes
        # more DDR bandwidth never slows a point down
        _, slower = store.query(
            "SELECT count(*) FROM points a JOIN points b USING (kernel, size, level) "
            'WHERE a."ddr.bytes_per_cycle" < b."ddr.bytes_per_cycle" AND b.cycles > a.cycles'
        )
        assert slower == [(0,)]
        again = run_sweep(SMALL, store, ray_engine)
        assert (again.already_done, again.ran) == (16, 0)


class StopAfter:
    """A progress bar that interrupts the sweep after `tasks` tasks, as Ctrl-C would."""

    def __init__(self, tasks):
        self.tasks = tasks
        self.total = 0

    def advance(self, count, what):
        self.tasks -= 1
        if self.tasks == 0:
            raise KeyboardInterrupt

    def finish(self):
        pass


def test_an_interrupted_sweep_resumes_with_no_point_lost_or_repeated(ray_engine, tmp_path):
    with ResultStore(tmp_path / "r.duckdb") as store:
        with pytest.raises(KeyboardInterrupt):
            run_sweep(SMALL, store, ray_engine, StopAfter(2))
        kept = store.count()
        assert 0 < kept < 16
        result = run_sweep(SMALL, store, ray_engine)
        assert (result.already_done, result.ran) == (kept, 16 - kept)
        assert store.query("SELECT count(*), count(DISTINCT id) FROM points")[1] == [(16, 16)]
        # results of other code are kept, and said to be
        store.query("UPDATE points SET code = 'older' WHERE size = 4096")
        assert run_sweep(SMALL, store, ray_engine).other_code == 8


def test_a_point_that_fails_is_a_row_that_says_why(tmp_path):
    spec = SweepSpec(
        ["gelu"], [4096], ["vec+mt"],
        options={"budget": [1 << 30]},
        machine_values={"ddr.bytes_per_cycle": [2.0, 4.77]},
        name="failing",
    )  # fmt: skip
    with ResultStore(tmp_path / "r.duckdb") as store, Engine("local") as engine:
        run_sweep(spec, store, engine)
        rows = {r["ddr.bytes_per_cycle"]: r for r in store.records("SELECT * FROM points")}
    # DDR slower than the cores' own path to it: no machine file can say so
    assert rows[2.0]["status"] == "invalid" and "core_bytes_per_cycle" in rows[2.0]["message"]
    assert rows[4.77]["status"] == "refused" and "budget" in rows[4.77]["message"]
    assert rows[4.77]["cycles"] is None


def test_tasks_group_the_points_of_one_compile():
    points = SMALL.points()
    tasks = tasks_for(points, per_task=2)
    flat = [p for task in tasks for p in task]
    assert len(flat) == len(points) and set(flat) == set(points)
    for task in tasks:
        assert len({p.compile_key() for p in task}) == 1 and len(task) <= 2


def test_the_local_engine_gives_the_same_rows_as_ray(ray_engine):
    task = [SMALL.points()[0]]
    on_ray = next(ray_engine.run(evaluate, [(task, "edge-npu", "x")]))
    here = evaluate(task, "edge-npu", "x")
    assert on_ray[0]["id"] == here[0]["id"] and on_ray[0]["cycles"] == here[0]["cycles"]


def test_a_killed_sweep_resumes_from_its_store(tmp_path):
    """kill -9 half-way: the store keeps every finished point, the rerun does the rest."""
    store = tmp_path / "r.duckdb"
    command = [sys.executable, "-m", "xnpu.bench.cli", "explore", "--engine", "local",
               "--kernel", "vector_add", "gelu", "softmax", "--sizes", "4K,16K,64K,256K,1M",
               "--level", "scalar", "vec", "vec+mt", "vec+mt+db", "--option", "contexts=1,2,4",
               "--store", str(store), "--quiet"]  # fmt: skip
    total = 3 * 5 * 4 * 3  # contexts cut tiles at every level
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not store.exists() and time.monotonic() < deadline:  # created before the first run
        time.sleep(0.05)
    time.sleep(3.0)  # the sweep writes every second, and takes more than ten seconds here
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    with ResultStore(store, read_only=True) as killed:
        kept = killed.count()
    assert 0 < kept < total, "the sweep was not killed half-way: make it longer"
    finished = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    with ResultStore(store, read_only=True) as done:
        assert done.query("SELECT count(*), count(DISTINCT id) FROM points")[1] == [(total, total)]
    assert f"{total} points;" in finished.stdout
    resumed = int(finished.stdout.split(" were in the store")[0].rsplit(" ", 1)[1].replace(",", ""))
    assert resumed == kept


# ---- search


def test_a_search_finds_a_point_at_least_as_fast_as_the_defaults(tmp_path):
    with ResultStore(tmp_path / "r.duckdb") as store, Engine("local") as engine:
        result = search("gelu", 65536, ["vec+mt", "vec+mt+db"], 8, "edge-npu", {}, store,
                        engine, "search gelu")  # fmt: skip
        assert result.best is not None and result.default is not None
        assert result.best["cycles"] <= result.default["cycles"]
        assert store.count("search gelu") == result.ran
        again = search("gelu", 65536, ["vec+mt", "vec+mt+db"], 8, "edge-npu", {}, store,
                       engine, "search gelu")  # fmt: skip
        assert again.ran == 0  # the same seed draws the same points: all read from the store
        assert again.best["id"] == result.best["id"]


# ---- the command line


def test_explore_from_the_command_line_writes_the_store_plots_and_parquet(tmp_path, capsys):
    store, plots, parquet = tmp_path / "s.duckdb", tmp_path / "plots", tmp_path / "s.parquet"
    code = main(["explore", "--engine", "local", "--kernel", "gelu", "--sizes", "4K,16K",
                 "--level", "vec+mt", "vec+mt+db", "--set", "ddr.bytes_per_cycle=4.77,9.54",
                 "--set", "scratchpad.tile_budget_bytes=64K,2M", "--option", "contexts=1,4",
                 "--store", str(store), "--plot", str(plots), "--parquet", str(parquet),
                 "--name", "cli", "--quiet"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "sweep 'cli'" in out and "32 points; 0 were in the store, 32 ran now" in out
    assert "by outcome: ok 32" in out and "sensitivity" in out
    assert {p.name for p in plots.iterdir()} == {"sensitivity.png", "db_gain.png", "pareto.png"}
    assert duckdb.sql(f"SELECT count(*) FROM '{parquet}'").fetchall() == [(32,)]
    assert (
        main(["query", str(store), "SELECT count(*) AS n FROM points WHERE level = 'vec+mt+db'"])
        == 0
    )
    assert capsys.readouterr().out.split() == ["n", "16"]


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["explore", "--kernel", "gelu", "--sizes", "4K", "--set", "ddr.nope=1"],
         "no parameter 'ddr.nope'"),
        (["explore", "--kernel", "gelu", "--sizes", "4K", "--option", "threads=2"],
         "unknown compiler option 'threads'"),
        (["explore", "--sizes", "4K"], "needs at least one kernel"),
        (["search", "--kernel", "gelu", "--set", "ddr.bytes_per_cycle=5,9"], "give one value"),
        (["explore", "--spec", "missing.toml"], "cannot read the sweep spec"),
    ],
)  # fmt: skip
def test_explorer_mistakes_end_with_a_message_and_no_run(arguments, message, tmp_path, capsys):
    store = tmp_path / "s.duckdb"
    assert main([*arguments, "--store", str(store), "--engine", "local"]) == 1
    assert message in capsys.readouterr().err
    assert not store.exists() or ResultStore(store, read_only=True).count() == 0


def test_query_names_a_bad_query_and_a_missing_store(tmp_path, capsys):
    assert main(["query", str(tmp_path / "none.duckdb")]) == 1
    assert "no result store" in capsys.readouterr().err
    with ResultStore(tmp_path / "s.duckdb") as store:
        store.add([{"id": "a"}])
    assert main(["query", str(tmp_path / "s.duckdb"), "SELECT nope FROM points"]) == 1
    assert "query failed" in capsys.readouterr().err


def test_a_report_says_how_much_scratchpad_the_run_held():
    machine = load_machine()
    held = {
        budget: measure(
            bench_kernel("gelu"), Variant.of("vec+mt+db", budget=budget), 1 << 20, machine
        ).report.scratchpad_bytes  # fmt: skip
        for budget in (1 << 18, 1 << 21)
    }
    assert 0 < held[1 << 18] <= 1 << 18
    assert 1 << 18 < held[1 << 21] <= 1 << 21


# ---- workloads: the user's own Triton kernels and torch.compile'd functions

WORKLOADS = Path(__file__).resolve().parent.parent / "benchmarks" / "workloads"


def test_a_sweep_runs_a_users_triton_kernel_and_torch_function(tmp_path):
    silu, mlp = str(WORKLOADS / "scaled_silu.py"), str(WORKLOADS / "gelu_mlp.py")
    spec = SweepSpec([silu, mlp], [64], ["scalar", "vec+mt+db"], name="workloads")
    with ResultStore(tmp_path / "r.duckdb") as store, Engine("local") as engine:
        run_sweep(spec, store, engine)
        rows = {(r["kernel"], r["level"]): r for r in store.records("SELECT * FROM points")}
    assert {r["status"] for r in rows.values()} == {"ok"}, [r["message"] for r in rows.values()]
    for kernel in (silu, mlp):
        assert rows[kernel, "vec+mt+db"]["cycles"] < rows[kernel, "scalar"]["cycles"]


def test_a_workload_that_disagrees_with_pytorch_is_wrong_and_one_incomplete_is_refused(tmp_path):
    wrong = tmp_path / "wrong.py"
    wrong.write_text(
        (WORKLOADS / "scaled_silu.py").read_text().replace("return scale * torch", "return torch")
    )
    with ResultStore(tmp_path / "r.duckdb") as store, Engine("local") as engine:
        run_sweep(SweepSpec([str(wrong)], [4096], ["vec"], name="w"), store, engine)
        (row,) = store.records("SELECT * FROM points")
    assert row["status"] == "wrong" and "differs from PyTorch's" in row["message"]
    incomplete = tmp_path / "incomplete.py"
    incomplete.write_text("def inputs(size, seed):\n    return ()\n")
    with pytest.raises(BenchError, match="defines no run, reference"):
        SweepSpec([str(incomplete)], [4096], ["vec"]).points()


def test_editing_a_workload_makes_its_points_new(tmp_path):
    machine = load_machine()
    workload = tmp_path / "w.py"
    workload.write_text((WORKLOADS / "scaled_silu.py").read_text())
    point = Point(str(workload), 4096, "vec")
    before = point.identity(machine)
    assert Point(str(workload), 4096, "vec").identity(machine) == before
    workload.write_text(workload.read_text().replace("1.5", "2.5"))
    assert point.identity(machine) != before


def test_styles_a_kernel_cannot_launch_in_are_left_out_and_said():
    spec = SweepSpec(["gelu", "softmax"], [4096], ["vec"], styles=["grid", "reference"])
    points = spec.points()
    assert sorted((p.kernel, p.style) for p in points) == [
        ("gelu", "grid"), ("gelu", "reference"), ("softmax", "grid")]  # fmt: skip
    assert spec.left_out() == ["softmax in reference style (it launches in grid only)"]


class KillAfterFirstTask:
    """A progress bar that sends the process SIGTERM when the first task is stored."""

    total = 0

    def advance(self, count, what):
        os.kill(os.getpid(), signal.SIGTERM)

    def finish(self):
        pass


def test_kill_stops_a_sweep_after_the_task_in_hand_is_stored(tmp_path):
    before = signal.getsignal(signal.SIGTERM)
    with ResultStore(tmp_path / "r.duckdb") as store, Engine("local") as engine:
        with StopRequest() as stop, pytest.raises(KeyboardInterrupt):
            run_sweep(SMALL, store, engine, KillAfterFirstTask(), stop=stop)
        assert store.count() == len(tasks_for(SMALL.points())[0])  # one whole task
    assert signal.getsignal(signal.SIGTERM) == before  # put back


def test_search_from_the_command_line_searches_each_kernel(tmp_path, capsys):
    store = tmp_path / "s.duckdb"
    arguments = ["search", "--kernel", "gelu", "vector_add", "--size", "16K", "--trials", "4",
                 "--engine", "local", "--store", str(store), "--quiet"]  # fmt: skip
    assert main(arguments) == 0
    out = capsys.readouterr().out
    assert "search 'search gelu 16384': 4 trials" in out
    assert "search 'search vector_add 16384': 4 trials" in out
    assert out.count("Pareto front of") == 2
    assert main(arguments) == 0  # again: every point is read back from the store
    assert "0 points run now" in capsys.readouterr().out


def test_a_cluster_address_nothing_answers_at_is_named_at_once():
    started = time.monotonic()
    with pytest.raises(BenchError, match="cannot reach Ray at ray://127.0.0.1:1"):
        Engine("ray", address="ray://127.0.0.1:1").__enter__()
    assert time.monotonic() - started < 10
