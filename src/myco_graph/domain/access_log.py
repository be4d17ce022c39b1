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
# so the driver prepares it once.
POSTGRES_UPSERT = """
INSERT INTO access_log (subject_id, viewer_key, viewer_id, purpose, day,
    field_keys, grant_ids, reads, first_at, last_at)
SELECT row.subject_id, $1, $2, row.purpose, $3, row.field_keys::jsonb,
    row.grant_ids::jsonb, row.reads, $4, $4
FROM unnest($5::bigint[], $6::text[], $7::text[], $8::text[], $9::int[])
    AS row(subject_id, purpose, field_keys, grant_ids, reads)
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
    """Allowed reads gathered per subject and purpose: fields, grants, count."""

    def __init__(self) -> None:
        self.rows: dict[tuple[int, str], tuple[set[str], set[int], list[int]]] = {}

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
        if row is None:
            self.rows[(subject_id, purpose)] = (set(keys), set(grant_ids), [reads])
            return
        row[0].update(keys)
        row[1].update(grant_ids)
        row[2][0] += reads

    def columns(self) -> tuple[list[Any], ...]:
        """Subjects, purposes, fields, grants and counts, as parallel lists.

        Sorted, so that concurrent requests lock rows in the same order.
        """
        ordered = sorted(self.rows.items())
        # Profiles of a page are mostly read for the same fields.
        texts: dict[frozenset[str], str] = {}
        return (
            [subject for (subject, _), _ in ordered],
            [str(purpose) for (_, purpose), _ in ordered],
            [_text(texts, frozenset(row[0])) for _, row in ordered],
            [orjson.dumps(sorted(row[1])).decode() for _, row in ordered],
            [row[2][0] for _, row in ordered],
        )


async def record(
    viewer_key: str, viewer_id: int | None, reads: Folded, moment: datetime
) -> None:
    """Folds allowed reads into the log with one statement."""
    if not reads.rows:
        return
    subjects, purposes, keys, grants, counts = reads.columns()
    conn = connections.get("default")
    if conn.capabilities.dialect == "postgres":
        await conn.execute_query(
            POSTGRES_UPSERT,
            [viewer_key, viewer_id, moment.date(), moment,
             subjects, purposes, keys, grants, counts],
        )  # fmt: skip
        return
    day = moment.date()
    values: list[Any] = []
    for subject, purpose, key_list, grant_list, count in zip(
        subjects, purposes, keys, grants, counts, strict=True
    ):
        values += [subject, viewer_key, viewer_id, purpose, day]
        values += [key_list, grant_list, count, moment, moment]
    sql = SQLITE_UPSERT.format(rows=", ".join([SQLITE_ROW] * len(subjects)))
    await conn.execute_query(sql, values)


def _text(texts: dict[frozenset[str], str], keys: frozenset[str]) -> str:
    text = texts.get(keys)
    if text is None:
        text = texts[keys] = orjson.dumps(sorted(keys)).decode()
    return text
