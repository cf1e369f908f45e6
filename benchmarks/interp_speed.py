"""
How fast xnpu interprets a kernel, beside Triton's own interpreter, in one run.

    python benchmarks/interp_speed.py [--elements 1048576] [--repeat 3]

Runs GELU (BLOCK 1024) through xnpu at every level of the ladder (executing and
counting cycles) and through Triton's interpreter (the InterpretedFunction that
TRITON_INTERPRET=1 puts behind @triton.jit; it counts nothing).

- Warm: in this process, each side runs once, then `--repeat` times; the best counts.
- First run: each side's first call in a fresh Python process (one per level), once
  the kernel is compiled and lowered: what a one-shot script pays, lazy imports and
  all. xnpu's first run gets numpy arrays (a numpy user's run never imports torch);
  Triton's interpreter needs torch tensors, and its child imports torch before timing.
  The children use cached bytecode, as an installed package has it (a warm-up child
  writes it to a temporary directory, so PYTHONDONTWRITEBYTECODE makes no difference
  and the source tree is not touched). "of which imports" is the first run less that
  of a child that imported xnpu's interpreter before timing.

Every output is checked against PyTorch. Prints wall times, elements per second and
the ratio to Triton's interpreter for each level.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TRITON_DEFAULT_FP_FUSION", "0")

import numpy as np  # noqa: E402

import xnpu  # noqa: E402
from xnpu.kernels import corpus_kernel  # noqa: E402
from xnpu.transforms.pipelines import LEVELS  # noqa: E402

TRITON = "triton-interpreter"


def best_time(run, repeat: int) -> float:
    run()  # warm-up: imports, first-call set-up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def _gelu_inputs(n: int):
    x = np.random.default_rng(0).standard_normal(n).astype(np.float32)
    return x, np.zeros(n, np.float32)


def _reference(x: np.ndarray) -> np.ndarray:
    import torch

    return torch.nn.functional.gelu(torch.from_numpy(x)).numpy()


def _first_run(side: str, n: int, imported: bool) -> float:
    """The first call's wall time in this (fresh) process; with `imported`, xnpu's
    interpreter is imported before the clock starts."""
    kernel = corpus_kernel("gelu")
    block = kernel.constexprs["BLOCK_SIZE"]
    grid = ((n + block - 1) // block,)
    x, out = _gelu_inputs(n)
    if side == TRITON:
        import torch
        from triton.runtime.interpreter import InterpretedFunction

        interpreted = InterpretedFunction(kernel.kernel.fn)
        x_tensor, out_tensor = torch.from_numpy(x), torch.from_numpy(out)
        start = time.perf_counter()
        interpreted[grid](x_tensor, out_tensor, n, BLOCK_SIZE=block)
    else:
        module = xnpu.lower(kernel.to_tt(), side)
        if imported:
            importlib.import_module("xnpu.interpreters.simulator.runner")
        start = time.perf_counter()
        xnpu.run(module, x, out, n, grid=grid)
    return time.perf_counter() - start


def first_run_in_a_fresh_process(side: str, n: int, bytecode: str, imported=False) -> float:
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    environment["PYTHONPYCACHEPREFIX"] = bytecode
    command = [sys.executable, __file__, "--first-run-of", side, "--elements", str(n)]
    child = subprocess.run(
        command + (["--imported"] if imported else []),
        capture_output=True,
        text=True,
        check=True,
        env=environment,
    )
    return json.loads(child.stdout.strip().splitlines()[-1])["seconds"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--elements", type=int, default=1 << 20, help="GELU input size")
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per side (best counts)")
    parser.add_argument("--first-run-of", help=argparse.SUPPRESS)  # the child's side
    parser.add_argument("--imported", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    n = args.elements
    if args.first_run_of:
        print(json.dumps({"seconds": _first_run(args.first_run_of, n, args.imported)}))
        return
    bytecode = tempfile.mkdtemp(prefix="xnpu-bytecode-")
    first_run_in_a_fresh_process(LEVELS[-1], n, bytecode)  # writes the bytecode; untimed

    import torch
    from triton.runtime.interpreter import InterpretedFunction

    torch.set_num_threads(1)
    kernel = corpus_kernel("gelu")
    block = kernel.constexprs["BLOCK_SIZE"]
    grid = ((n + block - 1) // block,)
    tt = kernel.to_tt()
    x, _ = _gelu_inputs(n)
    expected = _reference(x)
    rows = []
    for level in LEVELS:
        lowered = xnpu.lower(tt, level)
        _, out = _gelu_inputs(n)
        reports = []

        def run_level(lowered=lowered, out=out, reports=reports):
            reports.append(xnpu.run(lowered, x, out, n, grid=grid))

        warm = best_time(run_level, args.repeat)
        assert np.allclose(out, expected, rtol=1e-4, atol=1e-5), level
        first = first_run_in_a_fresh_process(level, n, bytecode)
        imports = first - first_run_in_a_fresh_process(level, n, bytecode, imported=True)
        rows.append((f"xnpu {level}", warm, first, imports, f"{reports[-1].cycles:,.0f}"))

    interpreted = InterpretedFunction(kernel.kernel.fn)
    x_tensor, out_tensor = torch.from_numpy(x), torch.zeros(n)

    def triton_run():
        interpreted[grid](x_tensor, out_tensor, n, BLOCK_SIZE=block)

    triton_warm = best_time(triton_run, args.repeat)
    assert np.allclose(out_tensor.numpy(), expected, rtol=1e-4, atol=1e-5)
    triton_first = first_run_in_a_fresh_process(TRITON, n, bytecode)
    rows.append(("Triton interpreter", triton_warm, triton_first, None, "-"))
    shutil.rmtree(bytecode, ignore_errors=True)

    print(f"GELU, {n:,} fp32 elements, BLOCK {block}; warm: best of {args.repeat}")
    print(
        f"  {'':22} {'warm':>8} {'elements/s':>12} {'vs Triton':>10}   {'first run':>9} "
        f"{'of which imports':>16} {'vs Triton':>10} {'first/warm':>10}   simulated cycles"
    )
    for name, warm, first, imports, cycles in rows:
        imported = "-" if imports is None else f"{imports:.3f}s"
        print(
            f"  {name:<22} {warm:7.3f}s {n / warm / 1e6:8.2f} M/s {triton_warm / warm:9.2f}x   "
            f"{first:8.3f}s {imported:>16} {triton_first / first:9.2f}x {first / warm:9.2f}x   "
            f"{cycles}"
        )
    slowest = max(warm for name, warm, *_ in rows if name.startswith("xnpu"))
    print(f"  slowest level, warm, against Triton's interpreter: {triton_warm / slowest:.2f}x")


if __name__ == "__main__":
    main()
