"""The timing engine's shared resources, on hand-made traces with round numbers."""

import pytest

from xnpu.interpreters.simulator.timing import replay
from xnpu.interpreters.simulator.trace import (
    Compute,
    ContextTrace,
    Copy,
    DmaStart,
    DmaWait,
    MatrixProduct,
    Parallel,
)
from xnpu.machines import load_machine

MACHINE = load_machine().with_values({
    "ddr.bytes_per_cycle": 40.0, "ddr.core_bytes_per_cycle": 4.0, "dma.bytes_per_cycle": 40.0,
    "dma.setup_cycles": 100, "threads.fork_cycles": 1000, "threads.join_cycles": 300,
    "vector.ddr_load": 27.0, "vector.spm_store": 1.0, "scalar.loop_iteration": 2.0,
})  # fmt: skip


def copy_in(nbytes: int) -> Copy:
    return Copy(op=None, nbytes=nbytes, accesses=nbytes // 128, to_scratchpad=True, vector=True)


def test_core_copies_of_all_contexts_share_the_cores_path_to_ddr():
    # alone, a 4 KiB copy is bound by the path (4096 / 4 = 1024 cycles), not by the
    # context's own 32 x 30 = 960 cycles of loads and stores
    alone = replay([ContextTrace(0, "main", [copy_in(4096)])], MACHINE)
    assert alone.cycles == pytest.approx(1024)
    # two contexts copying at once take turns on the path: the second ends at 2048
    traces = [
        ContextTrace(0, "main", [Parallel(op=None, children=(1, 2))]),
        ContextTrace(1, "context 0", [copy_in(4096)]),
        ContextTrace(2, "context 1", [copy_in(4096)]),
    ]
    timeline = replay(traces, MACHINE)
    assert [c.end for c in timeline.contexts[1:]] == pytest.approx([1000 + 1024, 1000 + 2048])
    assert timeline.cycles == pytest.approx(1000 + 2048 + 300)  # fork, both copies, join


def _dma_start(i: int, descriptors: int = 1) -> DmaStart:
    return DmaStart(op=None, id=i, nbytes=4000, descriptors=descriptors, to_scratchpad=True)


def test_a_dma_engine_fetches_a_queued_descriptor_while_it_moves_the_one_before():
    trace = ContextTrace(
        0, "main", [_dma_start(0), _dma_start(1, descriptors=2), DmaWait(op=None, ids=(0, 1))]
    )
    timeline = replay([trace], MACHINE)
    # 100 setup, then 100 moving; the second's 2 x 100 setup runs from 0 too (it was
    # queued at once), so its bytes move as soon as the engine is free, at 200
    assert timeline.cycles == pytest.approx(300)
    assert timeline.dma_busy == pytest.approx(300)
    names = [e.name for e in timeline.events if e.track == "dma 0"]
    assert names == ["dma setup", "dma in", "dma setup", "dma in"]


def test_a_descriptor_queued_late_pays_its_setup_after_it_is_queued():
    trace = ContextTrace(
        0, "main",
        [_dma_start(0), Compute(scalar_cycles=250, vector_cycles=0),
         _dma_start(1, descriptors=2), DmaWait(op=None, ids=(0, 1))],
    )  # fmt: skip
    timeline = replay([trace], MACHINE)
    # the first is done at 200; the second, queued at 250, sets up until 450, moves to 550
    assert timeline.cycles == pytest.approx(550)
    assert timeline.dma_busy == pytest.approx(200 + 300)


def test_contexts_take_turns_on_the_matrix_unit_and_wait_for_their_products():
    """One matrix unit: two contexts issuing a product at once run one after the
    other; the second waits, and each context's own compute after it waits too."""
    product = MatrixProduct(op=None, cycles=500.0, peak_cycles=400.0)
    traces = [
        ContextTrace(0, "main", [Parallel(op=None, children=(1, 2))]),
        ContextTrace(1, "context 0", [product, Compute(10.0, 0.0)]),
        ContextTrace(2, "context 1", [product, Compute(10.0, 0.0)]),
    ]
    timeline = replay(traces, MACHINE)
    assert [c.end for c in timeline.contexts[1:]] == pytest.approx([1000 + 510, 1000 + 1010])
    assert [c.matrix_wait for c in timeline.contexts[1:]] == pytest.approx([0, 500])
    assert timeline.matrix_busy == pytest.approx(1000)
    assert timeline.matrix_peak == pytest.approx(800)
    # two units: side by side
    two = MACHINE.with_values({"matrix.units": 2})
    assert replay(traces, two).cycles == pytest.approx(1000 + 510 + 300)
