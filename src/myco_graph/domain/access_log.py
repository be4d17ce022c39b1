"""The access log: every read of a member's value by someone else.

It is the fastest growing table, so one statement per request folds the
reads into one row per subject, viewer, purpose and day, merging the fields
and grants read and adding to the count. The merge happens in SQL, so two
requests that read at once both land; when a row already lists every field
and grant of the new reads, as on a page read again, only its count and time
change.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from datetime import datetime

import orjson
from tortoise import connections

from myco_graph.domain.models import Purpose

# The rows travel as one JSON document, ``[[subject, purpose, grants, fields,
# reads], ...]``, whatever their number: one statement text, prepared once,
# and no per-element encoding by the driver (asyncpg checks every element of
# an array parameter, which cost more than the statement's own work). A
# page's rows mostly list the same fields: each distinct list is sent once
# ($5) and each row names its own by position (from 0).
POSTGRES_UPSERT = """
INSERT INTO access_log (subject_id, viewer_key, viewer_id, purpose, day,
    field_keys, grant_ids, reads, first_at, last_at)
SELECT (row->>0)::bigint, $1, $2, row->>1, $3, $5::jsonb -> ((row->>3)::int),
    row->2, (row->>4)::int, $4, $4
FROM jsonb_array_elements($6::jsonb) AS row
ORDER BY (row->>0)::bigint, row->>1
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

# SQLite reads the same two documents. "WHERE true" tells its parser that
# ON CONFLICT belongs to the INSERT, not to a join (see SQLite's "upsert").
SQLITE_UPSERT = """
INSERT INTO access_log (subject_id, viewer_key, viewer_id, purpose, day,
    field_keys, grant_ids, reads, first_at, last_at)
SELECT json_extract(row.value, '$[0]'), ?1, ?2, json_extract(row.value, '$[1]'),
    ?3, json_extract(?5, '$[' || json_extract(row.value, '$[3]') || ']'),
    json_extract(row.value, '$[2]'), json_extract(row.value, '$[4]'), ?4, ?4
FROM json_each(?6) AS row WHERE true
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

    def add(
        self,
        subject_id: int,
        purpose: Purpose,
        keys: AbstractSet[str],
        grant_ids: frozenset[int],
    ) -> None:
        """Counts one read of each of ``keys`` under ``grant_ids``."""
        # Purpose is a str enum: the member itself is its stored value.
        whose = (subject_id, purpose)
        row = self.rows.get(whose)
        fields = frozenset(keys)
        if row is None:
            self.rows[whose] = (fields, grant_ids, len(fields))
        else:
            self.rows[whose] = (
                row[0] | fields,
                row[1] | grant_ids,
                row[2] + len(fields),
            )

    def documents(self) -> tuple[str, str]:
        """The distinct field lists, and the rows naming theirs, as JSON texts.

        The statement itself sorts the rows, so that concurrent requests
        lock them in the same order.
        """
        positions: dict[frozenset[str], int] = {}
        rows = [
            (
                subject,
                purpose,
                list(grants),
                positions.setdefault(fields, len(positions)),
                reads,
            )
            for (subject, purpose), (fields, grants, reads) in self.rows.items()
        ]
        field_lists = [sorted(fields) for fields in positions]
        return orjson.dumps(field_lists).decode(), orjson.dumps(rows).decode()


async def record(
    viewer_key: str, viewer_id: int | None, reads: Folded, moment: datetime
) -> None:
    """Folds allowed reads into the log with one statement."""
    if not reads.rows:
        return
    field_lists, rows = reads.documents()
    conn = connections.get("default")
    postgres = conn.capabilities.dialect == "postgres"
    await conn.execute_query(
        POSTGRES_UPSERT if postgres else SQLITE_UPSERT,
        [viewer_key, viewer_id, moment.date(), moment, field_lists, rows],
    )
