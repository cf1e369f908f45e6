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
        self._columns = self._existing_columns()

    def _existing_columns(self) -> set[str]:
        rows = self.connection.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'points'"
        ).fetchall()
        return {name for (name,) in rows}

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def done(self, ids: Sequence[str]) -> set[str]:
        """The ids among `ids` that the store holds a result for."""
        if not ids or "id" not in self._columns:
            return set()
        self.connection.execute("CREATE OR REPLACE TEMP TABLE wanted (id VARCHAR)")
        self.connection.executemany("INSERT INTO wanted VALUES (?)", [(i,) for i in ids])
        found = self.connection.execute(
            "SELECT points.id FROM points JOIN wanted USING (id)"
        ).fetchall()
        return {i for (i,) in found}

    def measured_by_other_code(self, ids: Iterable[str], code: str) -> int:
        """How many of `ids` the store holds from code other than `code`."""
        ids = list(ids)
        if not ids or "code" not in self._columns:
            return 0
        listed = ", ".join("'" + i.replace("'", "''") + "'" for i in ids)
        return self.connection.execute(
            f"SELECT count(*) FROM points WHERE id IN ({listed}) AND code IS DISTINCT FROM ?",
            [code],
        ).fetchone()[0]

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
        before = self.count()
        placeholders = ", ".join("?" for _ in names)
        self.connection.begin()
        try:
            self.connection.executemany(
                f"INSERT OR IGNORE INTO points ({', '.join(map(_quoted, names))}) "
                f"VALUES ({placeholders})",
                [[row.get(name) for name in names] for row in rows],
            )
            self.connection.commit()
        except Exception:
            self.connection.rollback()
            raise
        return self.count() - before

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

    def export_parquet(self, path: Path, sweep: str | None = None) -> None:
        """The rows (of one sweep, or all) as a Parquet file."""
        where = "WHERE sweep = " + "'" + sweep.replace("'", "''") + "'" if sweep else ""
        target = str(path).replace("'", "''")
        self.connection.execute(
            f"COPY (SELECT * FROM points {where}) TO '{target}' (FORMAT PARQUET)"
        )
