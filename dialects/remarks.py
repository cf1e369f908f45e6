"""
Remarks: what a pass decided, or left alone and why, kept on the op it concerns so
that the IR, `xnpu-run` and every report show it.

    add_remark(loop, "npu-tile", "not tiled: the block is reduced across its lanes")
    # the op prints as  scf.for ... {npu.remarks = ["npu-tile: not tiled: ..."]}
    remarks_in(module)   # ["@gelu: npu-tile: not tiled: ..."] (with " at file:line" if known)
"""

from __future__ import annotations

from xdsl.dialects import func
from xdsl.dialects.builtin import ArrayAttr, StringAttr
from xdsl.ir import Operation

from xnpu.dialects.location import at_location

REMARKS = "npu.remarks"

SCALAR_WORK = ("left scalar", "element by element")
"""What the remarks of work left scalar say (npu-vectorize's loops it leaves alone,
npu-lower-triton's gathers and scatters): `is_scalar_work` finds them."""


def is_scalar_work(remark: str) -> bool:
    """Whether a remark tells of work left scalar or moved element by element."""
    return any(marker in remark for marker in SCALAR_WORK)


def add_remark(op: Operation, pass_name: str, text: str) -> None:
    """Appends `pass_name: text` to the remarks of `op`."""
    known = op.attributes.get(REMARKS)
    old = list(known.data) if isinstance(known, ArrayAttr) else []
    op.attributes[REMARKS] = ArrayAttr([*old, StringAttr(f"{pass_name}: {text}")])


def remarks_in(scope: Operation) -> list[str]:
    """Every remark under `scope`, each prefixed by its function and source line."""
    found = []
    for op in scope.walk():
        known = op.attributes.get(REMARKS)
        if not isinstance(known, ArrayAttr):
            continue
        function = op if isinstance(op, func.FuncOp) else _function_of(op)
        where = f"@{function.sym_name.data}" if function is not None else ""
        for remark in known.data:
            assert isinstance(remark, StringAttr)
            found.append(f"{where}{at_location(op)}: {remark.data}")
    return found


def _function_of(op: Operation) -> func.FuncOp | None:
    parent = op.parent_op()
    while parent is not None and not isinstance(parent, func.FuncOp):
        parent = parent.parent_op()
    return parent
