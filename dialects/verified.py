"""
A module verified once: `lower` verifies what it returns and every run verifies what it
runs, so a module lowered and then run many times would be verified each time (a few
milliseconds a module). `verify_once` skips a module verified before and unchanged
since, by its fingerprint.
"""

from __future__ import annotations

import weakref

from xdsl.dialects.builtin import ModuleOp

_VERIFIED: weakref.WeakKeyDictionary[ModuleOp, int] = weakref.WeakKeyDictionary()
"""Modules verified before, with their fingerprint then."""


def fingerprint(module: ModuleOp) -> int:
    """What identifies `module`'s contents while it lives: its ops in order, each with
    its name, the values it reads and the attributes it holds (an op added, removed or
    moved, an operand replaced, an attribute set: each changes it)."""
    return hash(
        tuple(
            (
                id(op),
                op.name,
                *map(id, op.operands),
                *map(id, op.attributes.values()),
                *map(id, op.properties.values()),
            )
            for op in module.walk()
        )
    )


def verify_once(module: ModuleOp) -> int:
    """Verifies `module` unless it was verified unchanged; returns its fingerprint.
    Raises xDSL's VerifyException."""
    current = fingerprint(module)
    if _VERIFIED.get(module) != current:
        module.verify()
        _VERIFIED[module] = current
    return current
