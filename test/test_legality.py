"""Each reason a pass gives for leaving IR alone or refusing it, on the smallest input
that shows it: npu-vectorize's `plan_vector_loop`, npu-multithread's `program_loop`,
npu-double-buffer's `find_tile_loop` and npu-lower-triton's analysis. The decisions
build no IR."""

import pytest
import refused_kernels
from ir_helpers import parse_ir
from xdsl.dialects import scf

import xnpu
from xnpu.dialects import xnpu_context
from xnpu.frontend.ttir import TritonFrontendError, module_text
from xnpu.kernels import corpus_kernel
from xnpu.machines import load_machine
from xnpu.transforms.npu_double_buffer import TileLoop, find_tile_loop
from xnpu.transforms.npu_lower_triton import LoweringError, NpuLowerTritonPass
from xnpu.transforms.program_loop import program_loop
from xnpu.transforms.vector_plan import VectorLoopPlan, plan_vector_loop

SCRATCH = "memref<1024xf32, #spm.scratch>"


def _function(args: str, body: str, iter_args: str = "", step: str = "%c1"):
    source = f"""
func.func @f({args}) {{
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c5 = arith.constant 5 : index
  %a = spm.alloc : {SCRATCH}
  %ai = spm.alloc : memref<1024xindex, #spm.scratch>
  {"%r = " if iter_args else ""}scf.for %i = %c0 to %n step {step} {iter_args} {{
{body}
  }}
  func.return
}}
"""
    module = parse_ir(source)
    module.verify()
    return module


def _loop(module) -> scf.ForOp:
    return next(op for op in module.walk() if isinstance(op, scf.ForOp))


REFUSALS = [
    ("its step is not 1", "", "", "%c2"),
    (
        "a loop-carried value is not an accumulator",
        f"%v = memref.load %a[%i] : {SCRATCH}\n    scf.yield %v : f32",
        "iter_args(%acc = %s) -> (f32)",
        "%c1",
    ),
    (
        "the accumulator's 'arith.maxsi' has no identity a vector can start from",
        "%m = arith.maxsi %acc, %k : i32\n    scf.yield %m : i32",
        "iter_args(%acc = %k) -> (i32)",
        "%c1",
    ),
    (
        "it reads or writes DDR element by element",
        f"%v = memref.load %x[%i] : memref<?xf32>\n    memref.store %v, %a[%i] : {SCRATCH}",
        "",
        "%c1",
    ),
    (
        "an access is not at consecutive addresses",
        f"%v = memref.load %a[%c5] : {SCRATCH}\n    memref.store %v, %a[%i] : {SCRATCH}",
        "",
        "%c1",
    ),
    (
        "it stores the induction variable",
        "memref.store %i, %ai[%i] : memref<1024xindex, #spm.scratch>",
        "",
        "%c1",
    ),
    (
        "an access is not at consecutive addresses",
        # a buffer the loop also writes: a gather could miss the loop's own stores
        f"%j = arith.muli %i, %c2 : index\n    %v = memref.load %a[%j] : {SCRATCH}\n"
        f"    memref.store %v, %a[%i] : {SCRATCH}",
        "",
        "%c1",
    ),
    (
        "'spm.copy' has no vector form",
        f"spm.copy %x[%c0] to %a[%c0] count %c5 : memref<?xf32> to {SCRATCH}",
        "",
        "%c1",
    ),
    (
        "'arith.addi' works on index values",
        "%v = memref.load %ai[%i] : memref<1024xindex, #spm.scratch>\n"
        "    %w = arith.addi %v, %v : index\n"
        "    memref.store %w, %ai[%i] : memref<1024xindex, #spm.scratch>",
        "",
        "%c1",
    ),
]


@pytest.mark.parametrize(("reason", "body", "iter_args", "step"), REFUSALS)
def test_npu_vectorize_says_why_a_loop_stays_scalar(reason, body, iter_args, step):
    args = "%x: memref<?xf32>, %n: index, %s: f32, %k: i32"
    loop = _loop(_function(args, body, iter_args, step))
    why = plan_vector_loop(loop, load_machine("edge-npu"), None)
    assert isinstance(why, str) and why.startswith(reason)  # then the op, if one is to blame


def test_npu_vectorize_plans_an_element_loop():
    body = f"%v = memref.load %a[%i] : {SCRATCH}\n    memref.store %v, %a[%i] : {SCRATCH}"
    plan = plan_vector_loop(_loop(_function("%n: index", body)), load_machine("edge-npu"), 8)
    assert isinstance(plan, VectorLoopPlan) and plan.lanes == 8


def test_npu_multithread_takes_only_a_top_level_step_one_loop():
    module = _function("%n: index", "")
    function = next(iter(module.body.block.ops))
    assert program_loop(function) is _loop(module)
    stepped = _function("%n: index", "", step="%c2")
    assert program_loop(next(iter(stepped.body.block.ops))) is None


def test_npu_double_buffer_needs_copies_of_buffers_the_loop_owns():
    copy = f"spm.copy %x[%i] to %a[%c0] count %c5 : memref<?xf32> to {SCRATCH}"
    found = find_tile_loop(_loop(_function("%x: memref<?xf32>, %n: index", copy)))
    assert isinstance(found, TileLoop) and len(found.inputs) == 1 and not found.outputs
    # no copies at the loop's top level: nothing to pipeline
    assert find_tile_loop(_loop(_function("%n: index", ""))) is None
    # a buffer the loop both fills and writes back stays filled by a core copy (a
    # prefetch would need the write-back waited first)
    back = f"\n    spm.copy %a[%c0] to %y[%i] count %c5 : {SCRATCH} to memref<?xf32>"
    found = find_tile_loop(_loop(_function("%x: memref<?xf32>, %y: memref<?xf32>, %n: index",
                                           copy + back)))  # fmt: skip
    assert isinstance(found, TileLoop) and not found.inputs and len(found.outputs) == 1
    assert [why for _, why in found.left] == ["the loop both fills its buffer and writes it back"]
    # ... and when an iteration reads back the DDR buffer it wrote, neither copy becomes
    # DMA: a prefetch would read it before the write, an async write-back while it is read
    both = back.replace("%y", "%x") + "\n    " + copy
    found = find_tile_loop(_loop(_function("%x: memref<?xf32>, %n: index", both)))
    assert isinstance(found, str) and "reads back a DDR buffer the iteration wrote" in found
    # reading it first and writing it back after (in place) is fine
    found = find_tile_loop(
        _loop(_function("%x: memref<?xf32>, %n: index", copy + back.replace("%y", "%x")))
    )
    assert isinstance(found, TileLoop) and "reads back" not in " ".join(w for _, w in found.left)


def test_npu_double_buffer_says_why_a_loop_is_not_pipelined():
    copy = f"spm.copy %x[%i] to %b[%c0] count %c5 : memref<?xf32> to {SCRATCH}"
    inner = f"%b = spm.alloc : {SCRATCH}\n    " + copy
    found = find_tile_loop(_loop(_function("%x: memref<?xf32>, %n: index", inner)))
    assert found == (
        "no copy of a tile can become DMA: spm.copy: its buffer is allocated in the loop"
    )


LOWERING_REFUSALS = [
    (
        "every_other_lane",
        {"x_ptr": "*fp32", "out_ptr": "*fp32"},
        r"cannot store under this mask: its mask is not a box .*'tt.store' at .*refused_kernels.py:\d+",
    ),
    (
        "load_under_if",
        {"x_ptr": "*fp32", "out_ptr": "*fp32", "flag": "i32"},
        r"an scf.if may only compute values: its branches are both computed, whatever the "
        r"condition: 'tt.load' at .*refused_kernels.py:\d+",
    ),
    (
        "store_under_if",
        {"x_ptr": "*fp32", "out_ptr": "*fp32", "flag": "i32"},
        r"only an scf.if on a scalar condition that yields tensors is supported: 'scf.if' at ",
    ),
    (
        "unevenly_bumped_pointers",
        {"x_ptr": "*fp32", "out_ptr": "*fp32", "n": "i32"},
        r"a loop may carry a pointer only when each trip moves it by the same lane-invariant "
        r"step \(x_ptrs \+= BLOCK\): 'scf.for' at .*refused_kernels.py:\d+",
    ),
    (
        "chosen_pointer",
        {"x_ptr": "*fp32", "y_ptr": "*fp32", "out_ptr": "*fp32"},
        r"operand p cannot be used as data: 'arith.select' at ",
    ),
]


@pytest.mark.parametrize(("name", "signature", "message"), LOWERING_REFUSALS)
def test_npu_lower_triton_names_what_it_refuses_and_where(name, signature, message):
    kernel = getattr(refused_kernels, name)
    module = xnpu.from_triton(kernel, signature, {"BLOCK": 64})
    before = str(module)
    with pytest.raises(LoweringError, match=message):
        xnpu.lower(module)
    assert str(module) == before  # the caller's module is left as it was


def _refused_text(text: str, message: str) -> None:
    module = parse_ir(text)
    with pytest.raises(LoweringError, match=message):
        NpuLowerTritonPass().apply(xnpu_context(), module)


def test_a_libdevice_function_without_a_lowering_is_named():
    text = module_text(corpus_kernel("inductor/gelu").to_tt()).replace("__nv_erff", "__nv_j0f")
    _refused_text(text, r"libdevice function '__nv_j0f' has no lowering")


def test_a_tensor_constant_that_is_not_a_splat_is_refused():
    text = """
tt.func @k(%out: !tt.ptr<i32>) {
  %c = arith.constant dense<[1, 2, 3, 4]> : tensor<4xi32>
  %r = tt.make_range {end = 4 : i32, start = 0 : i32} : tensor<4xi32>
  %p = tt.splat %out : !tt.ptr<i32> -> tensor<4x!tt.ptr<i32>>
  %q = tt.addptr %p, %r : tensor<4x!tt.ptr<i32>>, tensor<4xi32>
  tt.store %q, %c : tensor<4x!tt.ptr<i32>>
  tt.return
}
"""
    _refused_text(text, r"only splat tensor constants are supported: 'arith.constant'")


def test_npu_vectorize_checks_what_combined_freely_promises():
    """A loop marked `npu.combined_freely` whose yields are not first-trip selects, or
    whose combiner reads a load of its own, stays scalar and says why."""
    source = """
func.func @f(%n: index) -> f32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %z = arith.constant 0.0 : f32
  %a = spm.alloc : memref<1024xf32, #spm.scratch>
  %r = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %z) -> (f32) {
    %x = memref.load %a[%i] : memref<1024xf32, #spm.scratch>
    %first = arith.cmpi eq, %i, %c0 : index
    %y = memref.load %a[%c0] : memref<1024xf32, #spm.scratch>
    %m = arith.maximumf %acc, %y : f32
    %next = arith.select %first, %x, <combined> : f32
    scf.yield <yielded> : f32
  } {npu.combined_freely}
  func.return %r : f32
}
"""
    machine = load_machine("edge-npu")
    for combined, yielded, reason in (
        ("%m", "%m", "a loop-carried value is not combined as its loop's attribute says"),
        ("%m", "%next", "the combiner reads more than the carried and fresh values: 'memref.load'"),
    ):
        text = source.replace("<combined>", combined).replace("<yielded>", yielded)
        why = plan_vector_loop(_loop(parse_ir(text)), machine, None)
        assert isinstance(why, str) and why.startswith(reason), why


def test_an_op_outside_the_subset_is_named_where_it_is_written():
    """tt.histogram is outside the subset xnpu reads: the error names the op and the
    kernel's source line."""
    signature = {"x_ptr": "*i32", "out_ptr": "*i32"}
    with pytest.raises(
        TritonFrontendError,
        match=r"(?s)Operation tt.histogram is not registered.*refused_kernels.py:\d+",
    ):
        xnpu.from_triton(refused_kernels.histogram, signature, {"BLOCK": 16, "BINS": 8})
