"""
Where sweep points run: on Ray (this machine's cores by default, a cluster when given
its address) or one by one in this process. Points that differ only in size go to one
task, to share the worker's caches: a worker keeps its compiled Triton modules and
lowered modules (measure.lowered) for the tasks after.

    with Engine("ray", jobs=2) as engine:             # or Engine("ray", address="ray://head:10001")
        for rows in engine.run(evaluate, [(points, "edge-npu", "my-sweep"), ...]):
            store.add(rows)                           # as each task finishes

A point's failure is a row (status refused, wrong, invalid or error, with the message),
never the sweep's end.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import signal
import socket
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path

from xnpu.bench import measure as measure_module
from xnpu.bench import workload as workload_module
from xnpu.bench.measure import BenchError, Variant, WrongOutput, bench_kernel, measure
from xnpu.bench.sweep import Point
from xnpu.bench.workload import is_workload, measure_workload
from xnpu.interpreters.simulator.report import Report
from xnpu.interpreters.simulator.trace import InterpreterError
from xnpu.machines import MachineError, load_machine

BACKENDS = ("ray", "local")
"""ray: tasks on a Ray cluster (a local one by default); local: this process, in order."""

POINTS_PER_TASK = 16
"""At most this many points (of one compile) in a task: enough to amortize a task's
overhead (a few ms on Ray) without leaving a core idle at the end of a sweep."""


def tasks_for(points: Sequence[Point], per_task: int = POINTS_PER_TASK) -> list[list[Point]]:
    """Points grouped by Point.compile_key, in chunks of `per_task`."""
    groups: dict[tuple, list[Point]] = {}
    for point in points:
        groups.setdefault(point.compile_key(), []).append(point)
    return [group[i : i + per_task] for group in groups.values()
            for i in range(0, len(group), per_task)]  # fmt: skip


MEASURING_CODE = ("xnpu", *(f"xnpu.{layer}" for layer in ("machines", "frontend", "dialects",
                  "costs", "transforms", "interpreters", "kernels")))  # fmt: skip
"""The packages whose code decides a point's numbers; of the runner's own, the modules
that measure (this one, measure.py, workload.py), not those that present results."""


@functools.cache
def code_fingerprint() -> str:
    """A hash of the code that measures points, as this process runs it: every row
    records it, so a store can tell results of other code from this code's."""
    files = [Path(__file__), Path(measure_module.__file__), Path(workload_module.__file__)]
    for package in MEASURING_CODE:
        spec = importlib.util.find_spec(package)
        for directory in (spec.submodule_search_locations or ()) if spec else ():
            files += [path for path in sorted(Path(directory).rglob("*"))
                      if path.suffix in (".py", ".toml") and "__pycache__" not in path.parts]  # fmt: skip
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:12]


def evaluate(points: Sequence[Point], machine: str, sweep: str) -> list[dict]:
    """Each point run and checked against PyTorch (measure), as a store row."""
    base = load_machine(machine)
    rows = []
    for point in points:
        started = time.perf_counter()
        row = {
            "id": point.identity(base),
            "sweep": sweep,
            "kernel": point.kernel,
            "style": point.style,
            "size": point.size,
            "level": point.level,
            "machine": base.name,
            **dict(point.options),
            **dict(point.machine_values),
        }
        row.update(_outcome(point, base))
        row["wall_seconds"] = time.perf_counter() - started
        row["finished"] = datetime.now()
        row["code"] = code_fingerprint()
        rows.append(row)
    return rows


def _outcome(point: Point, base) -> dict:
    try:
        machine = base.with_values(dict(point.machine_values))
    except MachineError as error:
        return {"status": "invalid", "message": str(error)}
    try:
        if is_workload(point.kernel):
            options = dict(point.options)
            reports = measure_workload(
                point.kernel, point.level, options, point.size, machine, point.seed
            )
        else:
            kernel = bench_kernel(point.kernel, point.style)
            variant = Variant.of(point.level, **dict(point.options))
            reports = [measure(kernel, variant, point.size, machine, point.seed).report]
    except WrongOutput as error:
        return {"status": "wrong", "message": str(error)}
    except (BenchError, InterpreterError, MachineError) as error:
        return {"status": "refused", "message": str(error)}
    except Exception as error:  # a defect: recorded with where it happened, the sweep goes on
        where = traceback.extract_tb(error.__traceback__)[-1]
        return {
            "status": "error",
            "message": f"{type(error).__name__}: {error} ({where.filename}:{where.lineno})",
        }
    return {"status": "ok", "message": None, **figures(reports)}


def figures(reports: Sequence[Report]) -> dict:
    """A point's figures from the reports of its launches, run one after the other."""
    return {
        "cycles": sum(r.cycles for r in reports),
        "microseconds": sum(r.microseconds for r in reports),
        "compute_cycles": sum(r.compute_cycles for r in reports),
        "dma_wait_cycles": sum(r.dma_wait_cycles for r in reports),
        "overlap_cycles": sum(r.overlap_cycles for r in reports),
        "matrix_cycles": sum(r.matrix_cycles for r in reports),
        "ddr_bytes": sum(r.ddr_bytes for r in reports),
        "scratchpad_bytes": max(r.scratchpad_bytes for r in reports),
        # the forked contexts that worked (the main one waits for them), or the main one
        "contexts_used": max(sum(1 for c in r.contexts[1:] if c.busy > 0) or 1 for r in reports),
    }


def _check_reachable(address: str) -> None:
    """Fails at once, naming the address, when nothing answers there (Ray itself retries
    an unreachable cluster for minutes). "auto" and other forms are left to Ray."""
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit():
        return
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as error:
        raise BenchError(f"cannot reach Ray at {address}: {error.strerror or error}") from None


def _ray_token_found() -> bool:
    """Whether this machine has a Ray cluster token (Ray's own places for it)."""
    return bool(
        os.environ.get("RAY_AUTH_TOKEN")
        or os.environ.get("RAY_AUTH_TOKEN_PATH")
        or (Path.home() / ".ray" / "auth_token").is_file()
    )


class Engine:
    """Runs tasks where the backend says; `run` yields results as tasks finish."""

    def __init__(self, backend: str = "ray", address: str | None = None, jobs: int | None = None):
        if backend not in BACKENDS:
            raise BenchError(f"unknown engine {backend!r}: use {', '.join(BACKENDS)}")
        if address and backend != "ray":
            raise BenchError("an address is for the ray engine (a Ray cluster to run on)")
        if jobs is not None and jobs < 1:
            raise BenchError(f"jobs must be at least 1, got {jobs}")
        self.backend = backend
        self.address = address
        self.jobs = jobs
        self._started_ray = False
        self._remote = {}
        self._signal_handlers: dict = {}
        self._environment: dict[str, str] | None = None
        """Ray's environment variables before this engine started it, restored at close."""

    def __enter__(self) -> Engine:
        if self.backend == "ray":
            try:
                self._start_ray()
            except BaseException:  # what it changed is put back
                self.close()
                raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _start_ray(self) -> None:
        if self.address:
            _check_reachable(self.address)
        # Ray's variables as the caller had them, put back at close: Ray sets some itself
        self._environment = {k: v for k, v in os.environ.items() if k.startswith("RAY_")}
        # set before Ray is imported, which reads them
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no usage prompt in a sweep
        if self.address and _ray_token_found():
            # a cluster `ray start` started (token authentication, Ray 2.59 on) wants this
            # machine's token, which a client sends only when told to
            os.environ.setdefault("RAY_AUTH_MODE", "token")
        import ray

        if ray.is_initialized():  # the caller's Ray: use it as it is, leave it running
            return
        settings = {"include_dashboard": False, "log_to_driver": False, "logging_level": "error"}
        # Ray installs its own signal handlers in the caller: put the caller's back at close
        self._signal_handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            if self.address:
                ray.init(address=self.address, **settings)
            else:
                ray.init(num_cpus=self.jobs or os.cpu_count() or 1, **settings)
        except (ConnectionError, ValueError, RuntimeError) as error:
            if self.address:
                raise BenchError(f"cannot reach Ray at {self.address}: {error}") from None
            raise BenchError(
                f"cannot start Ray on this machine: {error} (--engine local runs the points "
                f"in this process instead)"
            ) from None
        self._started_ray = True

    @property
    def workers(self) -> int:
        """How many tasks run at once."""
        if self.backend == "local":
            return 1
        import ray

        return max(1, int(ray.cluster_resources().get("CPU", 1)))

    def where(self) -> str:
        if self.backend == "local":
            return f"this process on {socket.gethostname()}"
        return f"Ray at {self.address}" if self.address else "Ray on this machine"

    def run(self, function: Callable, tasks: Iterable[tuple]) -> Iterator:
        """function(*task) for every task, yielded as each finishes (any order)."""
        if self.backend == "local":
            for task in tasks:
                yield function(*task)
            return
        import ray

        remote = self._remote.get(function)
        if remote is None:
            remote = self._remote[function] = ray.remote(function)
        pending: list = []  # the running tasks' result references
        queue = iter(tasks)
        limit = 2 * self.workers  # a few queued per worker: results stream, memory stays flat
        while True:
            while len(pending) < limit:
                task = next(queue, None)
                if task is None:
                    break
                pending.append(remote.remote(*task))
            if not pending:
                return
            (finished,), pending = ray.wait(pending, num_returns=1)
            try:
                result = ray.get(finished)
            except ray.exceptions.RayTaskError as error:  # the function raised: as if here
                raise error.cause from None
            except ray.exceptions.RayError as error:  # a worker died (memory, a crash)
                raise BenchError(
                    f"Ray lost a task: {type(error).__name__}: {str(error).splitlines()[0]}; "
                    f"what finished before it is kept"
                ) from None
            yield result

    def close(self) -> None:
        if self._started_ray:
            import ray

            ray.shutdown()
            self._started_ray = False
            for number, handler in self._signal_handlers.items():
                signal.signal(number, signal.SIG_DFL if handler is None else handler)
        if self._environment is not None:
            for name in [k for k in os.environ if k.startswith("RAY_")]:
                if name not in self._environment:
                    del os.environ[name]
            os.environ.update(self._environment)
            self._environment = None
