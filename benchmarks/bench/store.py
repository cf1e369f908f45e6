"""
Where a sweep's results go: a DuckDB database, one row per point, written as each
result arrives, so that a sweep killed half-way keeps what it finished and resumes
with the rest. Query it with any DuckDB client, or export it to Parquet.

    store = ResultStore("sweep.duckdb")
    store.done(ids)                      # the ids among `ids` it already holds
    store.add(rows)                      # a point's id is its key: never held twice
    store.query("select kernel, min(cycles) from points group by kernel")

Table `points`: id, sweep, kernel, style, size, level, machine (the base model),
status (ok, refused: a named limit such as scratchpad overflow; wrong: an output
differs from PyTorch; invalid: machine values no machine file can hold; error: an
unexpected failure), message, the report's figures (cycles, microseconds,
compute_cycles, dma_wait_cycles, overlap_cycles, matrix_cycles, ddr_bytes,
scratchpad_bytes, contexts_used), wall_seconds, finished, code (a hash of the
xnpu code that measured it); then one column per swept
option (contexts, buffers, ...; NULL: the pass's default) and per machine value
("ddr.bytes_per_cycle", ...: the value the point ran with).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from xnpu.bench.measure import BenchError
from xnpu.cli import write_file

FIXED_COLUMNS = {
    "id": "VARCHAR PRIMARY KEY",
    "sweep": "VARCHAR",
    "kernel": "VARCHAR",
    "style": "VARCHAR",
    "size": "BIGINT",
    "level": "VARCHAR",
    "machine": "VARCHAR",
    "status": "VARCHAR",
    "message": "VARCHAR",
    "cycles": "DOUBLE",
    "microseconds": "DOUBLE",
    "compute_cycles": "DOUBLE",
    "dma_wait_cycles": "DOUBLE",
    "overlap_cycles": "DOUBLE",
    "matrix_cycles": "DOUBLE",
    "ddr_bytes": "BIGINT",
    "scratchpad_bytes": "BIGINT",
    "contexts_used": "INTEGER",
    "wall_seconds": "DOUBLE",
    "finished": "TIMESTAMP",
    "code": "VARCHAR",
}
"""Every row's columns and their types; swept options and machine values add more."""


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _type_of(values: Iterable) -> str:
    present = [v for v in values if v is not None]
    if all(isinstance(v, bool) for v in present) and present:
        return "BOOLEAN"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return "BIGINT"
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        return "DOUBLE"
    return "VARCHAR"


class ResultStore:
    """A DuckDB file of sweep results (created if missing)."""

    def __init__(self, path: Path | str, read_only: bool = False):
        import duckdb  # only the explorer needs it

        self.path = Path(path)
        if read_only and not self.path.is_file():
            raise BenchError(f"no result store at {self.path}")
        try:
            self.connection = duckdb.connect(str(self.path), read_only=read_only)
        except duckdb.Error as error:
            held = "lock" in str(error).lower()
            why = "another process holds it (a sweep still running?)" if held else (
                f"not a DuckDB result store ({error})")  # fmt: skip
            raise BenchError(f"cannot open the result store {self.path}: {why}") from None
        if not read_only:
            columns = ", ".join(f"{_quoted(n)} {t}" for n, t in FIXED_COLUMNS.items())
            self.connection.execute(f"CREATE TABLE IF NOT EXISTS points ({columns})")
        self._columns = set(self._ordered_columns())

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _wanted(self, ids: Iterable[str]) -> None:
        """Table `wanted`: the ids, for a join."""
        self.connection.execute(
            "CREATE OR REPLACE TEMP TABLE wanted AS SELECT unnest(?::VARCHAR[]) AS id", [list(ids)]
        )

    def _among(self, ids: Iterable[str], select: str, parameters: Sequence = ()) -> list:
        """`select` over the store's rows whose id is among `ids` (as table `found`)."""
        self._wanted(ids)
        return self.connection.execute(
            f"WITH found AS (SELECT points.* FROM points JOIN wanted USING (id)) {select}",
            list(parameters),
        ).fetchall()

    def done(self, ids: Iterable[str]) -> set[str]:
        """The ids among `ids` that the store holds a result for."""
        return {i for (i,) in self._among(ids, "SELECT id FROM found")}

    def rows(self, ids: Iterable[str]) -> dict[str, dict]:
        """The rows of `ids` the store holds, by id."""
        names = self._ordered_columns()
        found = self._among(ids, f"SELECT {', '.join(map(_quoted, names))} FROM found")
        return {row[0]: dict(zip(names, row)) for row in found}

    def measured_by_other_code(self, ids: Iterable[str], code: str) -> int:
        """How many of `ids` the store holds from code other than `code`."""
        select = "SELECT count(*) FROM found WHERE code IS DISTINCT FROM ?"
        return self._among(ids, select, [code])[0][0]

    def _ordered_columns(self) -> list[str]:
        """The table's columns, id first."""
        rows = self.connection.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'points' "
            "ORDER BY ordinal_position"
        ).fetchall()
        return [name for (name,) in rows]

    def add(self, rows: Sequence[dict]) -> int:
        """Writes `rows` in one transaction (adding columns for new keys); a row whose
        id the store holds already is left out. Returns how many were written."""
        if not rows:
            return 0
        names = list(dict.fromkeys(name for row in rows for name in row))
        for name in names:
            if name not in self._columns:
                kind = _type_of(row.get(name) for row in rows)
                self.connection.execute(
                    f"ALTER TABLE points ADD COLUMN IF NOT EXISTS {_quoted(name)} {kind}"
                )
                self._columns.add(name)
        one_row = "(" + ", ".join("?" for _ in names) + ")"
        # one statement, one transaction: all of the rows or none (executemany is a
        # statement per row, ten times slower)
        written = self.connection.execute(
            f"INSERT OR IGNORE INTO points ({', '.join(map(_quoted, names))}) "
            f"VALUES {', '.join(one_row for _ in rows)} RETURNING id",
            [row.get(name) for row in rows for name in names],
        ).fetchall()
        return len(written)

    def count(self, sweep: str | None = None) -> int:
        if sweep is None:
            return self.connection.execute("SELECT count(*) FROM points").fetchone()[0]
        return self.connection.execute(
            "SELECT count(*) FROM points WHERE sweep = ?", [sweep]
        ).fetchone()[0]

    def query(self, sql: str, parameters: Sequence = ()) -> tuple[list[str], list[tuple]]:
        """Column names and rows of any SQL over the store (table `points`)."""
        import duckdb

        try:
            cursor = self.connection.execute(sql, list(parameters))
        except duckdb.Error as error:
            raise BenchError(f"query failed: {error}") from None
        if cursor.description is None:
            return [], []
        return [d[0] for d in cursor.description], cursor.fetchall()

    def records(self, sql: str, parameters: Sequence = ()) -> list[dict]:
        """A query's rows as dicts."""
        names, rows = self.query(sql, parameters)
        return [dict(zip(names, row)) for row in rows]

    def export_parquet(self, path: Path, ids: Iterable[str] | None = None) -> None:
        """The rows (of `ids`, or all) as a Parquet file, whole or not at all."""
        rows = "points"
        if ids is not None:
            self._wanted(ids)
            rows = "(SELECT points.* FROM points JOIN wanted USING (id))"

        def copy(target: Path) -> None:
            quoted = "'" + str(target).replace("'", "''") + "'"
            self.connection.execute(f"COPY {rows} TO {quoted} (FORMAT PARQUET)")

        write_file(path, copy)
