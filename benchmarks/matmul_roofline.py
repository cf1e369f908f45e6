"""
A large fp16 matmul against the matrix unit's roofline: the corpus matmul (Triton's
tutorial, blocks of BLOCK_M x BLOCK_N over a K loop of BLOCK_K) on N x N x N at the
levels asked, each checked against PyTorch, with where the time goes.

    python benchmarks/matmul_roofline.py                   # 2048^3 at vec+mt+db
    python benchmarks/matmul_roofline.py --size 1024 --levels vec,vec+mt,vec+mt+db
    python benchmarks/matmul_roofline.py --blocks 128,128,256 --set ddr.bytes_per_cycle=40

The roofline is the ladder's (bench/measure.py's Roofline): the kernel's DDR bytes at
DDR's bandwidth, or its multiply-accumulates at the matrix unit's peak, whichever is
longer. Printed per level: cycles, the bound and the fraction of it reached, the
matrix unit's busy share (its steady rate, per-product setup and accumulator moves),
DMA busy and hidden, and what the contexts waited for.
"""

from __future__ import annotations

import argparse
import time

from xnpu.bench.measure import BenchError, BenchKernel, Roofline, Variant, measure
from xnpu.kernels import CorpusKernel, corpus_kernel
from xnpu.kernels.cases import matmul_case
from xnpu.machines import load_machine


def _setting(text: str) -> tuple[str, float]:
    key, _, value = text.partition("=")
    try:
        return key, float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected KEY=NUMBER, got '{text}'") from None


def _blocks(text: str) -> tuple[int, int, int]:
    try:
        blocks = tuple(int(part) for part in text.split(","))
    except ValueError:
        blocks = ()
    if len(blocks) != 3 or any(b < 16 or b & (b - 1) for b in blocks):
        raise argparse.ArgumentTypeError(
            f"expected BLOCK_M,BLOCK_N,BLOCK_K, powers of two of at least 16, got '{text}'"
        )
    return blocks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].strip())
    parser.add_argument("--size", type=int, default=2048, help="N of the N x N x N product")
    parser.add_argument("--levels", default="vec+mt+db", help="comma-separated levels")
    parser.add_argument("--machine", default="edge-npu")
    parser.add_argument(
        "--blocks", type=_blocks, help="BLOCK_M,BLOCK_N,BLOCK_K (default: the corpus kernel's)"
    )
    parser.add_argument(
        "--set",
        type=_setting,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a machine parameter changed, e.g. ddr.bytes_per_cycle=40 (repeatable)",
    )
    args = parser.parse_args()
    machine = load_machine(args.machine).with_values(dict(args.set))
    source = corpus_kernel("matmul")
    names = ("BLOCK_M", "BLOCK_N", "BLOCK_K")
    blocks = args.blocks or tuple(source.constexprs[name] for name in names)
    source = CorpusKernel(
        source.name,
        source.kernel,
        source.signature,
        {**source.constexprs, **dict(zip(names, blocks))},
    )
    kernel = BenchKernel("matmul", source, lambda n, seed: matmul_case(n, seed, blocks[:2]))
    n = args.size
    changed = ", ".join(f"{k}={v:g}" for k, v in args.set) or "as in its file"
    print(
        f"matmul {n} x {n} x {n}, fp16 in, fp32 out, blocks {'x'.join(map(str, blocks))}, "
        f"machine {machine.name} ({changed})"
    )
    for level in args.levels.split(","):
        started = time.perf_counter()
        try:
            report = measure(kernel, Variant.of(level), n, machine).report
        except (BenchError, ValueError) as error:  # a bad level, blocks too big to hold
            raise SystemExit(f"matmul_roofline: {error}") from None
        wall = time.perf_counter() - started
        roofline = Roofline.of(report, machine)
        cycles = report.cycles
        contexts = [c for c in report.contexts if c.label != "main"] or report.contexts

        def share(part: float, cycles: float = cycles) -> str:
            return f"{100 * part / cycles:.1f}%"

        print(
            f"{level}: {cycles:,.0f} cycles ({report.microseconds:,.1f} µs), simulated in {wall:.1f} s"
        )
        print(
            f"  roofline {roofline.cycles:,.0f} cycles ({roofline.bound}-bound): "
            f"{100 * roofline.fraction(cycles):.1f}% reached; matrix peak "
            f"{roofline.matrix_peak_cycles:,.0f}, DDR {roofline.memory_cycles:,.0f} "
            f"({report.ddr_bytes / 2**20:,.1f} MiB at {machine.ddr.bytes_per_cycle:g} B/cycle)"
        )
        ideal = Roofline(2 * n * n * 2 + n * n * 4, 0.0, machine, report.matrix_peak_cycles)
        print(
            f"  with each matrix moved once (A, B in, C out: {ideal.ddr_bytes / 2**20:,.0f} MiB) "
            f"the bound is {ideal.cycles:,.0f} cycles ({ideal.bound}-bound): "
            f"{100 * ideal.fraction(cycles):.1f}% reached"
        )
        print(
            f"  matrix unit busy {report.matrix_cycles:,.0f} ({share(report.matrix_cycles)}), "
            f"of which the steady tile rate {roofline.matrix_peak_cycles:,.0f}; "
            f"DMA busy {report.dma_busy:,.0f} ({share(report.dma_busy)}), "
            f"hidden under work {report.overlap_cycles:,.0f}"
        )
        waits = {
            "compute": sum(c.compute for c in contexts),
            "copy": sum(c.copy for c in contexts),
            "DMA wait": sum(c.dma_wait for c in contexts),
            "matrix": sum(c.matrix for c in contexts),
            "matrix unit wait": sum(c.matrix_wait for c in contexts),
        }
        print(
            f"  over {len(contexts)} context(s): "
            + ", ".join(f"{name} {value / len(contexts):,.0f}" for name, value in waits.items())
            + " cycles each on average"
        )


if __name__ == "__main__":
    main()
