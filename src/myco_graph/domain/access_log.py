"""The access log: every read of a member's value by someone else.

It is the fastest growing table, so one statement per batch folds the reads
into one row per subject, viewer, purpose and day, merging the fields and
grants read and adding to the count. The merge happens in SQL, so two
requests that read at once both land.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from tortoise import connections

from myco_graph.domain.models import AccessLogEntry, Purpose

COLUMNS = (
    "subject_id, viewer_key, viewer_id, purpose, day, field_keys, grant_ids, "
    "reads, first_at, last_at"
)
CONFLICT = "(subject_id, viewer_key, purpose, day)"

POSTGRES_MERGE = """
reads = access_log.reads + EXCLUDED.reads,
last_at = EXCLUDED.last_at,
field_keys = (SELECT jsonb_agg(DISTINCT item) FROM jsonb_array_elements(
    access_log.field_keys || EXCLUDED.field_keys) AS item),
grant_ids = (SELECT jsonb_agg(DISTINCT item) FROM jsonb_array_elements(
    access_log.grant_ids || EXCLUDED.grant_ids) AS item)
"""

SQLITE_MERGE = """
reads = access_log.reads + excluded.reads,
last_at = excluded.last_at,
field_keys = (SELECT json_group_array(value) FROM (
    SELECT value FROM json_each(access_log.field_keys)
    UNION SELECT value FROM json_each(excluded.field_keys))),
grant_ids = (SELECT json_group_array(value) FROM (
    SELECT value FROM json_each(access_log.grant_ids)
    UNION SELECT value FROM json_each(excluded.grant_ids)))
"""


class Folded:
    """Allowed reads gathered per subject and purpose: fields, grants, count."""

    def __init__(self) -> None:
        self.rows: dict[tuple[int, str], tuple[set[str], set[int], list[int]]] = {}

    def add(self, subject_id: int, purpose: Purpose, key: str, grant_id: int) -> None:
        row = self.rows.get((subject_id, purpose.value))
        if row is None:
            row = self.rows[(subject_id, purpose.value)] = (set(), set(), [0])
        row[0].add(key)
        row[1].add(grant_id)
        row[2][0] += 1

    def parameters(
        self, viewer_key: str, viewer_id: int | None, moment: datetime
    ) -> list[tuple[Any, ...]]:
        """One row of statement parameters per subject and purpose."""
        return [
            (
                subject_id,
                viewer_key,
                viewer_id,
                purpose,
                moment.date(),
                orjson.dumps(sorted(keys)).decode(),
                orjson.dumps(sorted(grants)).decode(),
                count[0],
                moment,
                moment,
            )
            # Sorted, so that concurrent batches lock rows in the same order.
            for (subject_id, purpose), (keys, grants, count) in sorted(
                self.rows.items()
            )
        ]


async def record(
    viewer_key: str, viewer_id: int | None, reads: Folded, moment: datetime
) -> None:
    """Folds allowed reads into the log with one statement."""
    rows = reads.parameters(viewer_key, viewer_id, moment)
    if not rows:
        return
    conn = connections.get("default")
    postgres = conn.capabilities.dialect == "postgres"
    width = len(rows[0])
    placeholders = []
    for index in range(len(rows)):
        if postgres:
            base = index * width
            marks = [f"${base + n + 1}" for n in range(width)]
            marks[5] += "::jsonb"
            marks[6] += "::jsonb"
        else:
            marks = ["?"] * width
        placeholders.append(f"({', '.join(marks)})")
    merge = POSTGRES_MERGE if postgres else SQLITE_MERGE
    sql = (
        f"INSERT INTO {AccessLogEntry._meta.db_table} ({COLUMNS}) "  # noqa: S608
        f"VALUES {', '.join(placeholders)} "
        f"ON CONFLICT {CONFLICT} DO UPDATE SET {merge}"
    )
    await conn.execute_query(sql, [value for row in rows for value in row])
