"""xnpu's Triton driver: `kernel[grid](...)` runs on the simulated NPU, in place, with
the same cycles as `xnpu.run` of the same lowering; launch keywords (xnpu's and the
reference compiler's), sessions, the compile caches, and staying inactive unless set."""

import inspect
import math
import warnings
from pathlib import Path

import pytest
import torch
import triton
import triton.language as tl
from triton.backends.compiler import GPUTarget
from triton.compiler.compiler import make_backend

import xnpu
import xnpu.triton.launch as launch_module
from xnpu.kernels import corpus, corpus_kernel
from xnpu.kernels.cases import TEST_SIZES, make_case
from xnpu.kernels.vector_add import vector_add
from xnpu.machines import load_machine
from xnpu.transforms.pipelines import LEVELS, mechanisms_of
from xnpu.triton.compiler import LaunchOptionError, XnpuBackend, keywords
from xnpu.triton.driver import XnpuDriver
from xnpu.triton.launch import LaunchError
from xnpu.triton.options import PASS_OPTIONS


def _vectors(n: int = 3000):
    generator = torch.Generator().manual_seed(0)
    x, y = torch.randn(n, generator=generator), torch.randn(n, generator=generator)
    return x, y, torch.empty(n)


@pytest.mark.parametrize("name", [k.name for k in corpus()])
def test_every_corpus_kernel_matches_pytorch_and_xnpu_run_at_every_level(xnpu_driver, name):
    kernel = corpus_kernel(name)
    module = kernel.to_tt()
    size = TEST_SIZES[name][-1]
    for level in LEVELS:
        launched = make_case(name, size)
        kernel.kernel[launched.grid](*launched.args, **kernel.constexprs, level=level)
        assert launched.mismatches() == [], level
        report = xnpu.last_report()
        direct = make_case(name, size)
        options = {"programs": math.prod(direct.grid)} if "mt" in mechanisms_of(level) else {}
        lowered = xnpu.lower(module, level, **options)
        assert report.cycles == xnpu.run(lowered, *direct.args, grid=direct.grid).cycles, level


def test_a_launch_defaults_to_every_mechanism_and_reports(xnpu_driver):
    x, y, out = _vectors()
    vector_add[(3,)](x, y, out, 3000, BLOCK_SIZE=1024)
    assert torch.equal(out, x + y)
    report = xnpu.last_report()
    assert report.kernel == "vector_add" and report.grid == (3,) and report.cycles > 0
    assert any("npu-double-buffer" in remark for remark in report.remarks)


def test_a_second_launch_neither_recompiles_nor_lowers_again(xnpu_driver, monkeypatch):
    @triton.jit
    def add_once(x_ptr, y_ptr, out_ptr, n, BLOCK: tl.constexpr):  # seen by no other test
        offsets = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
        mask = offsets < n
        x, y = tl.load(x_ptr + offsets, mask=mask), tl.load(y_ptr + offsets, mask=mask)
        tl.store(out_ptr + offsets, x + y, mask=mask)

    lowerings = []
    real_lower = launch_module.lower
    monkeypatch.setattr(
        launch_module, "lower", lambda *a, **k: lowerings.append(a[1]) or real_lower(*a, **k)
    )
    x, y, out = _vectors()
    for _ in range(2):
        add_once[(3,)](x, y, out, 3000, BLOCK=1024, level="vec")
    assert len(add_once.device_caches[0][0]) == 1 and lowerings == ["vec"]
    for level in ("vec+mt", "scalar", "vec+mt"):  # a session's level: one Triton compile
        with xnpu.session(level=level):
            add_once[(3,)](x, y, out, 3000, BLOCK=1024)
    assert len(add_once.device_caches[0][0]) == 2  # Triton's key: with and without level=
    assert lowerings == ["vec", "vec+mt", "scalar"]
    assert torch.equal(out, x + y)


def test_sessions_collect_launches_and_launch_keywords_win(xnpu_driver):
    x, y, out = _vectors()
    with xnpu.session(level="scalar") as outer:
        vector_add[(3,)](x, y, out, 3000, BLOCK_SIZE=1024)
        with xnpu.session(level="vec") as inner:
            vector_add[(3,)](x, y, out, 3000, BLOCK_SIZE=1024)
            vector_add[(3,)](x, y, out, 3000, BLOCK_SIZE=1024, level="vec+mt")
    assert [launch.level for launch in outer.launches] == ["scalar", "vec", "vec+mt"]
    assert [launch.level for launch in inner.launches] == ["vec", "vec+mt"]
    assert outer.cycles == sum(launch.report.cycles for launch in outer.launches)
    assert outer.launches[0].cycles > 10 * outer.launches[1].cycles  # scalar against vec
    table = str(outer)
    assert table.count("vector_add") == 3 and "total" in table


@pytest.mark.parametrize(
    ("switches", "level", "buffers"),
    [
        ({}, "vec+mt+db", None),  # xnpu's default: every mechanism
        ({"enableVectorization": False}, "scalar", None),
        ({"enableMultiThreading": True}, "vec+mt", None),
        ({"enableMultiThreading": True, "enableDoubleBuffering": True}, "vec+mt+db", None),
        ({"enableHexagonmemCopyToDMA": True}, "vec+db", 1),
        ({"enableVectorization": False, "enableDoubleBuffering": True}, "db", None),
    ],
)
def test_the_reference_compilers_keywords_select_the_level(xnpu_driver, switches, level, buffers):
    x, y, out = _vectors()
    with xnpu.session() as launches:
        vector_add[(3,)](x, y, out, 3000, BLOCK_SIZE=1024, **switches)
    assert torch.equal(out, x + y)
    assert launches.launches[0].level == level
    if buffers is not None:
        assert any(f"over {buffers} buffer" in r for r in launches.launches[0].report.remarks)


def test_reference_keywords_without_counterpart_warn(xnpu_driver):
    x, y, out = _vectors()
    with pytest.warns(UserWarning, match="enableVTCMTiling=False has no effect: xnpu always tiles"):
        vector_add[(3,)](x, y, out, 3000, BLOCK_SIZE=1024, enableVTCMTiling=False)
    assert torch.equal(out, x + y)


def _hexagon_options_fields() -> dict[str, object]:
    """hexagon-mlir's HexagonOptions, as its backend declares them (its Triton backend's
    hexagon_options.py), less Triton's own options: a value other than the default each."""
    differing = {bool: lambda v: not v, int: lambda v: v + 1, str: lambda v: v + "x",
                 tuple: lambda v: (2, 1, 1)}  # fmt: skip
    from xnpu.triton.keywords import REFERENCE_OPTIONS

    return {o.name: differing[o.kind](o.default) for o in REFERENCE_OPTIONS if not o.mechanism}


def test_every_hexagon_options_field_is_a_launch_keyword_and_each_warns_once_at_the_launch(
    xnpu_driver,
):
    fields = _hexagon_options_fields()
    for name in ("enableLWP", "enableSCFLoopUnroll", "enableHexKL", "enableSplitReduction",
                 "enableSplitReduceGeneric", "enableHVXInlining", "scratch", "num_threads"):  # fmt: skip
        assert name in fields
    x, y, out = _vectors()
    # mapped (no warning), or refused by Triton itself at launch (device_type)
    quiet = {k: v for k, v in fields.items() if k not in ("num_threads", "scratch", "device_type")}
    launch_module._WARNED.clear()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(2):  # a second launch (an autotune config, a loop) warns no more
            vector_add[(3,)](x, y, out, 3000, BLOCK_SIZE=1024, **quiet)  # the launch line
    assert torch.equal(out, x + y)
    ignored = [w for w in caught if "has no effect" in str(w.message)]
    unread = {"name", "shared", "cluster_dims"}  # Triton's compile metadata: never read
    warned = sorted(str(w.message).split("=")[0].split()[-1] for w in ignored)
    assert warned == sorted(set(quiet) - unread)
    assert {(Path(w.filename).name, w.lineno) for w in ignored} == {
        ("test_triton_driver.py", _line_of("**quiet)  # the launch line"))
    }


def _line_of(text: str) -> int:
    lines = Path(__file__).read_text().splitlines()
    return next(number for number, line in enumerate(lines, 1) if text in line)


@pytest.mark.parametrize(
    ("keywords", "level", "options"),
    [
        ({"enableSCFThreading": True}, "vec+mt", {}),
        ({"enableThreadedDispatch": True, "enableVectorization": False}, "mt", {}),
        ({"enableMultiThreading": True, "num_threads": 2}, "vec+mt", {"contexts": 2}),
        ({"scratch": 65536}, "vec+mt+db", {"budget": 65536}),
        ({"scratch": 0, "enableLWP": False}, "vec+mt+db", {}),
    ],
)
def test_reference_keywords_with_a_counterpart_set_it(xnpu_driver, keywords, level, options):
    x, y, out = _vectors()
    with xnpu.session() as launches, warnings.catch_warnings():
        warnings.simplefilter("error")  # defaults and mapped keywords: no warning
        vector_add[(3,)](x, y, out, 3000, BLOCK_SIZE=1024, **keywords)
    assert torch.equal(out, x + y)
    assert launches.launches[0].level == level
    compiled = vector_add.warmup(x, y, out, 3000, BLOCK_SIZE=1024, grid=(3,), **keywords)
    assert launch_module._settings("vector_add", compiled.metadata).pass_options == options


@pytest.mark.parametrize(
    ("keywords", "message"),
    [
        (
            {"levle": "vec"},
            r"keyword 'levle' \(did you mean 'level'\?\); xnpu's are level, machine",
        ),
        ({"level": "vec", "enableMultiThreading": True}, "both name the level"),
        ({"enableMultiThreading": "yes"}, "enableMultiThreading takes True or False"),
        ({"num_threads": 2.0}, "num_threads takes a whole number, not 2.0"),
        ({"num_threads": 2, "contexts": 3}, "num_threads=2 and contexts=3 both set"),
        ({"enableLPW": True}, r"unknown launch keyword 'enableLPW' \(did you mean 'enableLWP'\?\)"),
        ({"level": "fast"}, "unknown level 'fast'"),
        ({"machine": "no-such-npu"}, "no-such-npu"),
        ({"contexts": 2.5}, "launch of vector_add: contexts takes a whole number, not 2.5"),
        ({"contexts": 0}, "contexts must be at least 1, not 0"),
        ({"level": "vec+db", "writeback": "later"}, "writeback is one of 'async', 'sync', not"),
        ({"level": "vec+mt", "decide": True}, "decide takes a string, not True"),
        ({"level": "vec", "writeback": "sync"}, "writeback is for db"),
        ({"machine": load_machine("edge-npu")}, r"a Machine object goes to xnpu.session"),
    ],
)
def test_bad_launch_keywords_are_named_and_leave_the_output(xnpu_driver, keywords, message):
    x, y, out = _vectors()
    before = out.clone()
    with pytest.raises(LaunchOptionError, match=message):
        vector_add[(3,)](x, y, out, 3000, BLOCK_SIZE=1024, **keywords)
    assert torch.equal(out, before) or torch.isnan(before).any()


def test_a_session_takes_a_machine_object(xnpu_driver):
    x, y, out = _vectors()
    with xnpu.session(machine=load_machine("edge-npu"), level="vec") as launches:
        vector_add[(3,)](x, y, out, 3000, BLOCK_SIZE=1024)
    vector_add[(3,)](x, y, out, 3000, BLOCK_SIZE=1024, machine="edge-npu", level="vec")
    assert launches.launches[0].cycles == xnpu.last_report().cycles


def test_bad_session_options_are_named():
    with pytest.raises(LaunchOptionError, match="xnpu.session: unknown option 'level_'"):
        with xnpu.session(level_="vec"):
            pass


@triton.jit
def _histogram_kernel(x_ptr, out_ptr, N: tl.constexpr, BINS: tl.constexpr):
    counts = tl.histogram(tl.load(x_ptr + tl.arange(0, N)), BINS)
    tl.store(out_ptr + tl.arange(0, BINS), counts)


def test_a_kernel_xnpu_cannot_lower_is_named_with_the_reason(xnpu_driver):
    x, out = torch.randint(0, 8, (16,), dtype=torch.int32), torch.zeros(8, dtype=torch.int32)
    with pytest.raises(
        LaunchError,
        match=r"(?s)xnpu cannot lower _histogram_kernel: .*tt\.histogram is not registered",
    ):
        _histogram_kernel[(1,)](x, out, N=16, BINS=8)
    assert torch.equal(out, torch.zeros(8, dtype=torch.int32))


def test_triton_autotune_picks_by_simulated_time(xnpu_driver):
    @triton.autotune(
        configs=[triton.Config({"BLOCK": 16}), triton.Config({"BLOCK": 1024})], key=["n"]
    )
    @triton.jit
    def scale(x_ptr, out_ptr, n, BLOCK: tl.constexpr):
        offsets = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
        mask = offsets < n
        tl.store(out_ptr + offsets, tl.load(x_ptr + offsets, mask=mask) * 2.0, mask=mask)

    x, out = torch.randn(4096), torch.empty(4096)
    with xnpu.session(level="vec") as launches:
        scale[lambda meta: (triton.cdiv(4096, meta["BLOCK"]),)](x, out, 4096)
    assert torch.equal(out, x * 2)
    assert scale.best_config.kwargs == {"BLOCK": 1024}
    assert len(launches.launches) == 1  # the trials are not the caller's launches


def test_the_driver_stays_inactive_unless_set():
    assert not XnpuDriver.is_active()  # Triton never picks it by itself
    assert "xnpu" in triton.backends.backends
    assert not XnpuBackend.supports_target(GPUTarget("cuda", 80, 32))
    assert not XnpuBackend.supports_target(GPUTarget("cpu", 0, 1))
    assert type(make_backend(GPUTarget("cuda", 80, 32))).__name__ == "CUDABackend"


def test_the_launch_keyword_schema_agrees_with_the_passes_options():
    """keywords.py is the one schema a launch is checked against; the passes' fields
    are the options of xdsl-opt. Both name the same options, with the same types."""
    from dataclasses import fields

    from xnpu.machines import load_machine
    from xnpu.transforms.pipelines import passes_for
    from xnpu.triton.keywords import XNPU_BY_NAME

    assert list(XNPU_BY_NAME) == keywords("xnpu")
    parameters = inspect.signature(passes_for).parameters
    assert sorted(PASS_OPTIONS) == sorted(set(parameters) - {"level", "machine", "programs"})
    declared = {}
    for module_pass in passes_for("vec+mt+db", load_machine("edge-npu")):
        for option in fields(module_pass):
            declared.setdefault(option.name, set()).add(str(option.type))
    for name in PASS_OPTIONS:
        kinds = {kind.__name__ for kind in XNPU_BY_NAME[name].kinds}
        for pass_type in declared[name]:
            assert kinds <= {part.strip() for part in pass_type.split("|")}, (name, pass_type)


def test_the_launch_record_keeps_warnings_quiet_for_plain_launches(xnpu_driver):
    x, y, out = _vectors()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        vector_add[(3,)](x, y, out, 3000, BLOCK_SIZE=1024, level="vec+mt", contexts=2)
    assert torch.equal(out, x + y)


def test_a_host_run_leaves_triton_language_as_it_was():
    """Triton's interpreter patches triton.language and does not always undo it; a host
    run (language_restored) puts every attribute back, even when the run fails."""
    import triton.language as tl

    from xnpu.triton.launch import language_restored

    original_mul, original_arange = tl.core.tensor.__mul__, tl.arange
    with pytest.raises(RuntimeError), language_restored():
        tl.core.tensor.__mul__ = lambda self, other: None
        tl.arange = None
        tl.core.added_by_the_run = 1
        raise RuntimeError("the interpreter failed")
    assert tl.core.tensor.__mul__ is original_mul and tl.arange is original_arange
    assert not hasattr(tl.core, "added_by_the_run")
