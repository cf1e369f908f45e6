"""The commands' contracts: every user error is one line naming what and where (no
traceback), every output path is checked before any work, files are written whole
and only on success, and status lines go to stderr."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from xnpu.bench import cli as bench_cli
from xnpu.cli import CommandError, write_file
from xnpu.frontend.ttir import module_text
from xnpu.kernels import corpus_kernel
from xnpu.run_cli import main as xnpu_run
from xnpu.triton_cli import main as xnpu_triton

GELU_ARGS = ["--args", "randn:4096,zeros:4096,4096", "--grid", "4"]
BF16_KERNEL = """
import triton
import triton.language as tl

@triton.jit
def double(x_ptr, out_ptr, n, BLOCK: tl.constexpr):
    offsets = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offsets < n
    tl.store(out_ptr + offsets, tl.load(x_ptr + offsets, mask=mask) * 2, mask=mask)
"""


@pytest.fixture
def gelu_tt(tmp_path) -> Path:
    path = tmp_path / "gelu.tt.mlir"
    path.write_text(module_text(corpus_kernel("gelu").to_tt()))
    return path


def one_line_error(err: str, command: str, message: str) -> None:
    assert err.startswith(f"{command}: error: "), err
    assert message in err and "Traceback" not in err
    assert err.count("\n") == 1, err


@pytest.mark.parametrize(
    ("make_input", "extra", "message"),
    [
        (lambda d: d / "nosuch.mlir", [], "nosuch.mlir: no such file"),
        (lambda d: d, [], "is a directory"),
        (lambda d: _write(d / "latin1.mlir", b"\xff\xfe"), [], "not UTF-8 text (byte 0 is 0xff)"),
        (lambda d: _write(d / "e.mlir", b""), [], "holds no operations"),
        (lambda d: d / "gelu.tt.mlir", ["--trace", "nodir/t.json"], "directory nodir does not exist"),
        (lambda d: d / "gelu.tt.mlir", ["--save", "."], "--save .: is a directory"),
        (lambda d: d / "gelu.tt.mlir", ["--level", "vec+foo"], "unknown level 'vec+foo'"),
    ],
)  # fmt: skip
def test_xnpu_run_errors_are_one_named_line(
    tmp_path, gelu_tt, capsys, monkeypatch, make_input, extra, message
):
    monkeypatch.chdir(tmp_path)
    assert xnpu_run([str(make_input(tmp_path)), *GELU_ARGS, *extra]) == 1
    one_line_error(capsys.readouterr().err, "xnpu-run", message)


def test_xnpu_run_points_at_a_parse_error(tmp_path, capsys):
    """Parse errors keep MLIR's form: the file, line and column, the line and a caret."""
    source = _write(tmp_path / "x.ttir", b"tt.bogus")
    assert xnpu_run([str(source), *GELU_ARGS]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"xnpu-run: error: {source}:1:9\ntt.bogus\n")
    assert "Operation tt.bogus is not registered" in err and "Traceback" not in err


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_xnpu_run_runs_bf16_and_names_a_type_it_cannot_hold(tmp_path, capsys):
    """bf16 runs (held as f32 rounded to bf16, moving 2 bytes an element); fp8 is named."""
    source = tmp_path / "double.py"
    source.write_text(BF16_KERNEL)
    outputs = []
    for name, exit_code in (("bf16", 0), ("fp8e5", 1)):
        ir = tmp_path / f"double_{name}.mlir"
        compile_ = [f"{source}:double", "-s", f"*{name},*{name},i32", "-c", "BLOCK=64"]
        assert xnpu_triton([*compile_, "-o", str(ir)]) == 0
        run = [str(ir), "--args", "randn:64,zeros:64,64", "--grid", "1"]
        assert xnpu_run(run) == exit_code
        outputs.append(capsys.readouterr())
    assert " 256 DDR bytes moved in all" in outputs[0].out  # 64 elements in, 64 out
    message = "argument 0 (x_ptr): xnpu cannot hold values of type f8E5M2"
    one_line_error(outputs[1].err, "xnpu-run", message)


def test_xnpu_run_reads_tritons_own_ttir(tmp_path, capsys):
    ttir = tmp_path / "gelu.ttir"
    ttir.write_text(module_text(corpus_kernel("gelu").to_tt()))
    assert xnpu_run([str(ttir), *GELU_ARGS]) == 0
    assert "kernel gelu on edge-npu" in capsys.readouterr().out


def test_xnpu_run_keeps_status_lines_and_remarks_out_of_the_report(tmp_path, gelu_tt, capsys):
    trace = tmp_path / "t.json"
    assert xnpu_run([str(gelu_tt), *GELU_ARGS, "--level", "vec+mt+db", "--trace", str(trace)]) == 0
    captured = capsys.readouterr()
    assert "remark" not in captured.out and "wrote" not in captured.out
    assert f"wrote {trace}" in captured.err and "--remarks shows them" in captured.err
    assert xnpu_run([str(gelu_tt), *GELU_ARGS, "--level", "vec+mt+db", "--remarks"]) == 0
    assert "remark: @gelu: npu-multithread: on 4 contexts" in capsys.readouterr().out


def test_a_failing_run_leaves_the_saved_file_as_it_was(tmp_path, gelu_tt, capsys):
    saved = tmp_path / "out.npz"
    saved.write_bytes(b"earlier results")
    assert (
        xnpu_run(
            [str(gelu_tt), "--args", "randn:4096,zeros:8,4096", "--grid", "4", "--save", str(saved)]
        )
        == 1
    )
    one_line_error(capsys.readouterr().err, "xnpu-run", "out-of-bounds")
    assert saved.read_bytes() == b"earlier results"


def test_help_lists_only_flags_that_do_something(capsys):
    with pytest.raises(SystemExit):
        xnpu_run(["--help"])
    text = capsys.readouterr().out
    for gone in ("--verbose", "--index-bitwidth", "--frontend", "--disable-verify"):
        assert gone not in text
    for flag in ("--args", "--grid", "--level", "--machine", "--remarks", "--save", "--trace"):
        assert flag in text


def test_a_closed_pipe_ends_quietly(gelu_tt):
    command = [sys.executable, "-m", "xnpu.run_cli", str(gelu_tt), *GELU_ARGS, "--json"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()  # the reader is gone before the report is written
    stderr = process.stderr.read().decode()
    assert process.wait() in (0, 1)
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["corpus:gelu", "-o", "nodir/x.mlir"], "-o nodir/x.mlir: directory nodir does not exist"),
        (["corpus:gelu", "-o", "."], "-o .: is a directory"),
        (["--corpus", "afile"], "--corpus afile: exists and is not a directory"),
        (["latin1.ttir"], "latin1.ttir is not UTF-8 text"),
    ],
)
def test_xnpu_triton_errors_are_one_named_line(tmp_path, capsys, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("")
    (tmp_path / "latin1.ttir").write_bytes(b"\xff")
    assert xnpu_triton(argv) == 1
    one_line_error(capsys.readouterr().err, "xnpu-triton", message)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--out", "/proc/xnpu"], "--out /proc/xnpu: cannot make it"),
        (["--json", "."], "--json .: is a directory"),
        (["--csv", "/proc/ladder.csv"], "--csv /proc/ladder.csv: cannot write there"),
    ],
)
def test_xnpu_bench_checks_outputs_before_running(tmp_path, capsys, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    assert (
        bench_cli.main(["ladder", "--kernel", "vector_add", "--size", "1K", "--quiet", *argv]) == 1
    )
    captured = capsys.readouterr()
    assert captured.out == ""  # no table: nothing ran
    one_line_error(captured.err, "xnpu-bench ladder", message)


def test_write_file_keeps_the_old_file_when_the_write_fails(tmp_path):
    target = tmp_path / "result.json"
    target.write_text("old")

    def failing(path: Path) -> None:
        path.write_text("half")
        raise OSError(28, "No space left on device")

    with pytest.raises(CommandError, match="cannot write .*result.json: No space left on device"):
        write_file(target, failing)
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == [
        "result.json"
    ]


def test_bench_csv_rows_say_what_they_are(tmp_path, capsys):
    assert (
        bench_cli.main(
            [
                "ladder",
                "--kernel",
                "vector_add",
                "--size",
                "4K",
                "--quiet",
                "--csv",
                str(tmp_path / "l.csv"),
            ]
        )
        == 0
    )
    captured = capsys.readouterr()
    assert "wall time" in captured.err and "wall time" not in captured.out
    header, first = (tmp_path / "l.csv").read_text().splitlines()[:2]
    columns = dict(zip(header.split(","), first.split(",")))
    assert columns["machine"] == "edge-npu" and columns["elements"] == "4096"
    assert columns["xnpu_version"] and columns["cycles"].isdigit()
    assert np.isfinite(float(columns["microseconds"]))


def test_bench_remarks_name_what_each_run_left_alone(capsys):
    argv = ["ladder", "--kernel", "inductor/add_broadcast", "--size", "4K", "--style", "grid"]
    argv.append("--quiet")
    assert bench_cli.main([*argv, "--remarks"]) == 0
    out = capsys.readouterr().out
    assert "remarks (what the passes did, and what they left alone and why):" in out
    assert "1 tile(s) every program fills alike move once a tile" in out
    assert "npu-double-buffer: pipelined over 2" in out
