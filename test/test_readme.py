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
