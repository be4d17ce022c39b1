"""The access log: every read of a member's value by someone else.

It is the fastest growing table, so one statement per request folds the
reads into one row per subject, viewer, purpose and day, merging the fields
and grants read and adding to the count. The merge happens in SQL, so two
requests that read at once both land; when a row already lists every field
and grant of the new reads, as on a page read again, only its count and time
change.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import orjson
from tortoise import connections

from myco_graph.domain.models import Purpose

# PostgreSQL: one statement text whatever the number of rows (arrays unnested),
# so the driver prepares it once. A page's rows mostly list the same fields:
# each distinct list is sent once ($6), and each row names its own by
# position ($9).
POSTGRES_UPSERT = """
INSERT INTO access_log (subject_id, viewer_key, viewer_id, purpose, day,
    field_keys, grant_ids, reads, first_at, last_at)
SELECT row.subject_id, $1, $2, row.purpose, $3, ($6::text[])[row.keys]::jsonb,
    row.grant_ids::jsonb, row.reads, $4, $4
FROM unnest($5::bigint[], $7::text[], $8::text[], $9::int[], $10::int[])
    AS row(subject_id, purpose, grant_ids, keys, reads)
ORDER BY row.subject_id, row.purpose
ON CONFLICT (subject_id, viewer_key, purpose, day) DO UPDATE SET
    reads = access_log.reads + EXCLUDED.reads,
    last_at = EXCLUDED.last_at,
    field_keys = CASE WHEN access_log.field_keys @> EXCLUDED.field_keys
        THEN access_log.field_keys
        ELSE (SELECT jsonb_agg(DISTINCT item) FROM jsonb_array_elements(
            access_log.field_keys || EXCLUDED.field_keys) AS item) END,
    grant_ids = CASE WHEN access_log.grant_ids @> EXCLUDED.grant_ids
        THEN access_log.grant_ids
        ELSE (SELECT jsonb_agg(DISTINCT item) FROM jsonb_array_elements(
            access_log.grant_ids || EXCLUDED.grant_ids) AS item) END
"""

SQLITE_ROW = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
SQLITE_UPSERT = """
INSERT INTO access_log (subject_id, viewer_key, viewer_id, purpose, day,
    field_keys, grant_ids, reads, first_at, last_at)
VALUES {rows}
ON CONFLICT (subject_id, viewer_key, purpose, day) DO UPDATE SET
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
    """Allowed reads gathered per subject and purpose: fields, grants, count.

    A list's profiles mostly add the fields of one set each: the set is kept
    as given (frozen), and a row is copied only when a second read adds to it.
    """

    def __init__(self) -> None:
        self.rows: dict[
            tuple[int, str], tuple[frozenset[str], frozenset[int], int]
        ] = {}

    def add_many(
        self,
        subject_id: int,
        purpose: Purpose,
        keys: Iterable[str],
        grant_ids: Iterable[int],
        reads: int,
    ) -> None:
        # Purpose is a str enum: the member itself is its stored value.
        row = self.rows.get((subject_id, purpose))
        fields, grants = frozenset(keys), frozenset(grant_ids)
        if row is not None:
            fields, grants, reads = row[0] | fields, row[1] | grants, row[2] + reads
        self.rows[(subject_id, purpose)] = (fields, grants, reads)

    def columns(self) -> tuple[list[Any], ...]:
        """Subjects, purposes, grants, field lists and counts, as parallel lists.

        The field lists are the distinct ones, as JSON texts, and each row
        gives the position of its own (from 1, as PostgreSQL's arrays count).
        Rows are sorted, so that concurrent requests lock them in the same order.
        """
        ordered = sorted(self.rows.items())
        positions: dict[frozenset[str], int] = {}
        for _, (fields, _, _) in ordered:
            positions.setdefault(fields, len(positions) + 1)
        return (
            [subject for (subject, _), _ in ordered],
            [_json_list(fields) for fields in positions],
            [str(purpose) for (_, purpose), _ in ordered],
            [_json_list(row[1]) for _, row in ordered],
            [positions[row[0]] for _, row in ordered],
            [row[2] for _, row in ordered],
        )


async def record(
    viewer_key: str, viewer_id: int | None, reads: Folded, moment: datetime
) -> None:
    """Folds allowed reads into the log with one statement."""
    if not reads.rows:
        return
    subjects, field_lists, purposes, grants, positions, counts = reads.columns()
    conn = connections.get("default")
    if conn.capabilities.dialect == "postgres":
        await conn.execute_query(
            POSTGRES_UPSERT,
            [viewer_key, viewer_id, moment.date(), moment, subjects, field_lists,
             purposes, grants, positions, counts],
        )  # fmt: skip
        return
    day = moment.date()
    values: list[Any] = []
    for subject, purpose, grant_list, position, count in zip(
        subjects, purposes, grants, positions, counts, strict=True
    ):
        values += [subject, viewer_key, viewer_id, purpose, day]
        values += [field_lists[position - 1], grant_list, count, moment, moment]
    sql = SQLITE_UPSERT.format(rows=", ".join([SQLITE_ROW] * len(subjects)))
    await conn.execute_query(sql, values)


def _json_list(items: Iterable[Any]) -> str:
    return orjson.dumps(sorted(items)).decode()
