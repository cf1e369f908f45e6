"""
Source locations of ops as a person reads them, for every diagnostic xnpu gives (the
front end, the passes and the interpreter alike). Not a dialect: ops read from Triton
IR carry `loc(...)` attributes, and these helpers render them.

    at_location(op)  ->  " at kernels.py:12:9"  (or "" when the op has no location)
"""

from __future__ import annotations

from xdsl.dialects.builtin import CallSiteLoc, FileLineColLoc, FusedLoc, NameLoc
from xdsl.ir import Attribute, Operation


def describe_location(location: Attribute | None) -> str | None:
    """A location as a person reads it: `file.py:12:9`, with the value's name if any."""
    match location:
        case FileLineColLoc():
            return f"{location.filename.data}:{location.line.data}:{location.column.data}"
        case NameLoc():
            inner = describe_location(location.location)
            return f"{inner} ('{location.desc.data}')" if inner else f"'{location.desc.data}'"
        case CallSiteLoc():
            # The caller is the kernel's own line; the callee is inside a Triton helper.
            return describe_location(location.caller) or describe_location(location.callee)
        case FusedLoc():
            for inner in location.locations:
                if (text := describe_location(inner)) is not None:
                    return text
            return None
        case _:
            return None


def at_location(op: Operation) -> str:
    """` at file.py:12:9` for an op whose location is known, else the empty string."""
    location = describe_location(op.location)
    return f" at {location}" if location else ""
