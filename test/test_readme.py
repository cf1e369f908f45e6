"""CI runs the README's test command; this keeps the two from drifting apart."""

from pathlib import Path

ROOT = Path(__file__).parent.parent


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    command = (
        "pip install -e '.[test]' && ruff check . && ruff format --check . "
        "&& pytest -q test && lit -v test/filecheck"
    )
    assert f"    {command}\n" in readme
    assert command in (ROOT / ".ci" / "run").read_text()


def _blocks_after(heading: str) -> list[str]:
    """The indented code blocks of the README section that starts at `heading`."""
    section = (ROOT / "README.md").read_text().split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    blocks, current = [], []
    for line in section.splitlines():
        if line.startswith("    "):
            current.append(line[4:])
        elif current and line.strip() == "":
            current.append("")
        elif current:
            blocks.append("\n".join(current))
            current = []
    return blocks + (["\n".join(current)] if current else [])


def test_the_readmes_launch_and_compile_forms_run(capsys):
    from triton.runtime import driver

    previous = driver._active
    try:
        for block in _blocks_after("Launch like Triton, compile like PyTorch"):
            exec(compile(block, "README.md", "exec"), {})
    finally:
        driver._active = previous
    printed = capsys.readouterr().out
    assert "kernel vector_add on edge-npu" in printed
    assert "triton_poi_fused_gelu" in printed and "total" in printed
