"""xnpu's subpackages import one way only: every module-level import of another xnpu
subpackage goes down the layer order, and no function imports an xnpu module to dodge
a cycle (the exceptions load heavy modules on first use to stay light: the `xnpu`
facade, and the Triton driver and compiler, which Triton imports whenever it is
imported itself)."""

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_DIRS: dict[str, str] = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"][
    "setuptools"
]["package-dir"]

LAYERS = (
    "machines",
    "dialects",
    "costs",
    "frontend",
    "transforms",
    "interpreters",
    "kernels",
    "xnpu",
    "bench",
)
"""Bottom first: a subpackage may import those before it, never those after it."""

LAZY_FACADE = {
    Path("xnpu/__init__.py"),
    Path("xnpu/triton/driver.py"),
    Path("xnpu/triton/compiler.py"),
}


def _layer(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "xnpu":
        return None
    if len(parts) > 1 and parts[1] in LAYERS:
        return parts[1]
    return "xnpu"


def _modules():
    for package, directory in PACKAGE_DIRS.items():
        for path in sorted((ROOT / directory).glob("*.py")):
            yield _layer(package), path.relative_to(ROOT), ast.parse(path.read_text())


def _imported(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.module and not node.level:
        return [node.module]
    return []


def test_every_subpackage_has_a_layer():
    assert {_layer(package) for package in PACKAGE_DIRS} <= set(LAYERS)


def test_module_level_imports_go_down_the_layers():
    upward = []
    for layer, path, tree in _modules():
        for node in tree.body:
            for module in _imported(node):
                target = _layer(module)
                if target is not None and LAYERS.index(target) > LAYERS.index(layer):
                    upward.append(f"{path}:{node.lineno} ({layer}) imports {module} ({target})")
    assert not upward, "imports against the layer order:\n" + "\n".join(upward)


def test_no_function_imports_an_xnpu_module():
    hidden = []
    for _, path, tree in _modules():
        if path in LAZY_FACADE:
            continue
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(function):
                if any(_layer(module) for module in _imported(node)):
                    hidden.append(f"{path}:{node.lineno} in {function.name}()")
    assert not hidden, "xnpu imports inside functions:\n" + "\n".join(hidden)
