"""
The fuzzer's oracle: Triton's own interpreter (TRITON_INTERPRET=1), which is not
xnpu. It runs in a process of its own, since the interpreter must be chosen before
Triton is imported and xnpu compiles with Triton's real compiler.

    with Oracle() as oracle:
        outputs = oracle.run(kernel, arguments)     # {pointer name: array} per launch

`python -m xnpu.fuzz.oracle` is that process: it reads requests on standard input
and answers on the standard output it had (its prints go to standard error), each
message a length and a pickle.
"""

from __future__ import annotations

import importlib.util
import os
import pickle
import struct
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np


class OracleError(Exception):
    """Triton's interpreter rejected or failed the kernel: the generator wrote a kernel
    that is not valid Triton, not a defect of xnpu."""


def _send(stream, message) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(struct.pack("<Q", len(data)) + data)
    stream.flush()


def _receive(stream):
    head = stream.read(8)
    if len(head) < 8:
        raise EOFError
    (length,) = struct.unpack("<Q", head)
    return pickle.loads(stream.read(length))


def load_kernel(source: str, name: str, directory: Path):
    """The kernel `name` defined by `source`, imported from a file in `directory`
    (Triton reads a kernel's source from its file)."""
    path = directory / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)


def to_torch(value, dtype: str):
    """An argument as a torch value: arrays become tensors of the kernel's dtype (bf16
    arrays are held as float32 holding bf16 values)."""
    import torch

    if not isinstance(value, np.ndarray):
        return value
    tensor = torch.from_numpy(value.copy())
    return tensor.to(torch.bfloat16) if dtype == "*bf16" else tensor


def from_torch(tensor) -> np.ndarray:
    import torch

    if tensor.dtype == torch.bfloat16:
        tensor = tensor.float()
    return tensor.numpy().copy()


def _is_tensor(value) -> bool:
    import torch

    return isinstance(value, torch.Tensor)


def _bf16_bits(values: np.ndarray) -> np.ndarray:
    """float32 values as bf16 bits, rounded to nearest even (NaN kept a NaN)."""
    bits = np.asarray(values, dtype=np.float32).view(np.uint32)
    rounded = (bits + np.uint32(0x7FFF) + ((bits >> np.uint32(16)) & np.uint32(1))) >> np.uint32(16)
    nan = np.isnan(np.asarray(values, dtype=np.float32))
    return np.where(nan, np.uint32(0x7FC0), rounded).astype(np.uint16)


def _correct_the_interpreter() -> None:
    """Triton 3.9's interpreter holds bf16 as its bits and converts to and from it
    wrongly: float32 by truncation, where compiled Triton (`tt.fp_to_fp`,
    `arith.truncf`) rounds to nearest even, and integers by taking their value as
    the bits. The oracle converts as compiled Triton does (it never computes in bf16:
    see xnpu.fuzz.generate). It also takes a float argument as an fp32 scalar and
    wraps int32 arithmetic as compiled Triton does, where the interpreter keeps a
    Python float (so `fp16 * alpha` stays fp16) and checks for overflow."""
    import triton.language as tl
    from triton.runtime import interpreter

    original = interpreter.InterpreterBuilder.cast_impl

    def cast_impl(self, src, dst_type):
        source, target = src.dtype.scalar, dst_type.scalar
        if target == tl.bfloat16 and source != tl.bfloat16:
            as_float = np.asarray(src.data).astype(np.float32)
            return interpreter.TensorHandle(_bf16_bits(as_float), target)
        if source == tl.bfloat16 and target != tl.bfloat16:
            widened = (np.asarray(src.data).astype(np.uint32) << np.uint32(16)).view(np.float32)
            target_type = interpreter._get_np_dtype(dst_type)
            return interpreter.TensorHandle(widened.astype(target_type), target)
        return original(self, src, dst_type)

    def create_fp_to_fp(self, src, dst_type, rounding_mode):
        return cast_impl(self, src, dst_type)

    interpreter.InterpreterBuilder.cast_impl = cast_impl
    interpreter.InterpreterBuilder.create_fp_to_fp = create_fp_to_fp
    # compiled Triton takes a float argument as an fp32 scalar (its signature's type),
    # the interpreter as a Python float, which an fp16 tensor does not widen for
    implicit = interpreter._implicit_cvt

    def fp32_argument(argument):
        if isinstance(argument, float):
            handle = interpreter.TensorHandle(np.array([argument], np.float32), tl.float32)
            return tl.tensor(handle, tl.float32)
        return implicit(argument)

    interpreter._implicit_cvt = fp32_argument
    # compiled Triton wraps int32 arithmetic; the interpreter asserts on overflow (and
    # spends a third of its time checking)
    builder = interpreter.interpreter_builder
    builder.options = replace(builder.options, sanitize_overflow=False)


def _serve() -> None:
    os.environ["TRITON_INTERPRET"] = "1"
    _correct_the_interpreter()
    protocol_in = sys.stdin.buffer
    protocol_out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # stray prints must not corrupt answers
    import warnings

    warnings.filterwarnings("ignore")
    with tempfile.TemporaryDirectory(prefix="xnpu-oracle-") as directory:
        while True:
            try:
                request = _receive(protocol_in)
            except EOFError:
                return
            try:
                answer = ("ok", _run(request, Path(directory)))
            except Exception as error:  # the kernel is not valid Triton: say so
                answer = ("error", f"{type(error).__name__}: {error}")
            _send(protocol_out, answer)


def _run(request, directory: Path) -> list[dict[str, np.ndarray]]:
    source, name, signature, constexprs, launches = request
    kernel = load_kernel(source, name, directory)
    results = []
    for grid, arguments in launches:
        values = [to_torch(a, signature[p]) for p, a in arguments.items()]
        with np.errstate(all="ignore"):
            kernel[grid](*values, **constexprs)
        results.append({p: from_torch(v) for p, v in zip(arguments, values) if _is_tensor(v)})
    return results


class Oracle:
    """A running oracle process (started on first use, restarted after it dies)."""

    def __init__(self) -> None:
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Oracle:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def run(self, kernel, arguments: list[dict]) -> list[dict[str, np.ndarray]]:
        """Every launch of `kernel` on its `arguments` (one {parameter: value} each):
        the arrays after the launch, by parameter name."""
        if self.process is None or self.process.poll() is not None:
            environment = {**os.environ, "TRITON_INTERPRET": "1"}
            self.process = subprocess.Popen(
                [sys.executable, "-m", "xnpu.fuzz.oracle"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env=environment,
            )
        launches = [(launch.grid, args) for launch, args in zip(kernel.launches, arguments)]
        request = (kernel.source, kernel.name, kernel.signature, kernel.constexprs, launches)
        try:
            _send(self.process.stdin, request)
            answer = _receive(self.process.stdout)
        except (EOFError, BrokenPipeError):
            self.close()
            raise OracleError("Triton's interpreter died on the kernel") from None
        status, value = answer
        if status == "error":
            raise OracleError(value)
        return value


if __name__ == "__main__":
    _serve()
