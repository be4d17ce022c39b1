"""The project page written by hand: Starlette, asyncpg and orjson only.

It answers ``GET /page/<project id>`` with the JSON the GraphQL query gives,
for a member of the project, applying the same consent rule in SQL (a value
shows only under an active project grant that covers it) and folding the
same access-log rows. It is the yardstick for bench/project_page.py.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench.project_data import SHARED

FIELDS = list(SHARED)
SECTIONS = {
    "identity": ["firstName"],
    "location": ["city", "country"],
    "music": ["favoriteGenres", "instruments"],
    "interests": ["hobbies"],
}
PAGE_SIZE = 200

VIEWER = """
SELECT t.account_id FROM tokens t
WHERE t.digest = $1 AND t.revoked_at IS NULL
  AND (t.expires_at IS NULL OR t.expires_at > now())
"""
PROJECT = """
SELECT p.handle, p.summary,
  (SELECT count(*) FROM project_members m
   WHERE m.project_id = p.id AND m.state = 'active') AS member_count,
  EXISTS (SELECT 1 FROM project_members m WHERE m.project_id = p.id
          AND m.account_id = $2 AND m.state = 'active') AS is_member
FROM projects p WHERE p.id = $1
"""
MEMBERS = """
WITH page AS (
  SELECT m.id, m.role, m.account_id FROM project_members m
  WHERE m.project_id = $1 AND m.state = 'active'
  ORDER BY m.id DESC LIMIT $3
)
SELECT page.id, page.role, a.id AS account_id, a.handle, a.display_name,
  v.key, v.value -> 'v' AS value,
  (SELECT g.id FROM consent_grants g
   WHERE g.subject_id = a.id AND g.audience = 'project' AND g.audience_id = $1
     AND g.purpose = 'project_collaboration' AND g.withdrawn_at IS NULL
     AND (g.expires_at IS NULL OR g.expires_at > now())
     AND g.field_keys ? v.key
   ORDER BY g.id DESC LIMIT 1) AS grant_id
FROM page JOIN accounts a ON a.id = page.account_id
LEFT JOIN profile_values v ON v.account_id = a.id AND v.key = ANY($2::text[])
ORDER BY page.id DESC
"""
POLLS = """
SELECT p.id, p.question, p.closes_at, p.options,
  (SELECT count(DISTINCT v.account_id) FROM votes v WHERE v.poll_id = p.id) AS voters
FROM polls p WHERE p.project_id = $1 AND p.closes_at > now()
ORDER BY p.id DESC LIMIT 10
"""
VOTES = """
SELECT poll_id, option, count(*) AS votes FROM votes
WHERE poll_id = ANY($1::bigint[]) GROUP BY poll_id, option
"""
POOLS = """
SELECT p.id, p.title, p.target_cents, p.deadline,
  coalesce(sum(c.amount_cents), 0)::bigint AS raised,
  count(DISTINCT c.account_id) AS contributors
FROM pools p LEFT JOIN contributions c ON c.pool_id = p.id
WHERE p.project_id = $1 GROUP BY p.id ORDER BY p.id DESC LIMIT 10
"""
MESSAGES = """
SELECT m.body, m.created_at, a.handle, a.display_name
FROM messages m LEFT JOIN accounts a ON a.id = m.author_id
WHERE m.project_id = $1 ORDER BY m.id DESC LIMIT 20
"""
LOG = """
INSERT INTO access_log (subject_id, viewer_key, viewer_id, purpose, day,
  field_keys, grant_ids, reads, first_at, last_at)
SELECT s, $1, $2, 'project_collaboration', $3, k::jsonb, g::jsonb, r, $4, $4
FROM unnest($5::bigint[], $6::text[], $7::text[], $8::int[]) AS u(s, k, g, r)
ON CONFLICT (subject_id, viewer_key, purpose, day) DO UPDATE SET
  reads = access_log.reads + EXCLUDED.reads, last_at = EXCLUDED.last_at,
  field_keys = (SELECT jsonb_agg(DISTINCT i) FROM jsonb_array_elements(
    access_log.field_keys || EXCLUDED.field_keys) i),
  grant_ids = (SELECT jsonb_agg(DISTINCT i) FROM jsonb_array_elements(
    access_log.grant_ids || EXCLUDED.grant_ids) i)
"""


def _error(status: int) -> Response:
    return Response(b'{"errors":[{"message":"no"}]}', status_code=status)


async def page(request: Request) -> Response:
    pool: asyncpg.Pool = request.app.state.pool
    secret: bytes = request.app.state.secret
    token = request.headers.get("authorization", "").removeprefix("Bearer ")
    digest = hmac.new(secret, token.encode(), hashlib.sha256).hexdigest()
    project_id = int(request.path_params["project_id"])
    async with pool.acquire() as conn:
        viewer_id = await conn.fetchval(VIEWER, digest)
        if viewer_id is None:
            return _error(401)
        project = await conn.fetchrow(PROJECT, project_id, viewer_id)
        if project is None or not project["is_member"]:
            return _error(404)
        rows = await conn.fetch(MEMBERS, project_id, FIELDS, PAGE_SIZE)
        messages = await conn.fetch(MESSAGES, project_id)
        polls = await conn.fetch(POLLS, project_id)
        votes = await conn.fetch(VOTES, [poll["id"] for poll in polls])
        pools = await conn.fetch(POOLS, project_id)
        members, log = _members(rows, viewer_id)
        if log:
            now = datetime.now(UTC)
            subjects, keys, grants, reads = zip(*log, strict=True)
            await conn.execute(
                LOG, f"account:{viewer_id}", viewer_id, now.date(), now,
                list(subjects), list(keys), list(grants), list(reads),
            )  # fmt: skip
    body = {
        "data": {
            "node": {
                "name": project["handle"],
                "summary": project["summary"],
                "memberCount": project["member_count"],
                "members": {"edges": [{"node": member} for member in members]},
                "messages": {
                    "edges": [
                        {
                            "node": {
                                "body": m["body"],
                                "createdAt": m["created_at"].isoformat(),
                                "author": {
                                    "handle": m["handle"],
                                    "displayName": m["display_name"],
                                },
                            }
                        }
                        for m in messages
                    ]
                },
                "polls": {"edges": [{"node": node} for node in _polls(polls, votes)]},
                "pools": {
                    "edges": [
                        {
                            "node": {
                                "title": p["title"],
                                "targetCents": p["target_cents"],
                                "raisedCents": p["raised"],
                                "contributors": p["contributors"],
                                "deadline": p["deadline"].isoformat(),
                            }
                        }
                        for p in pools
                    ]
                },
            }
        }
    }
    return Response(orjson.dumps(body), media_type="application/json")


def _polls(
    polls: list[asyncpg.Record], votes: list[asyncpg.Record]
) -> list[dict[str, Any]]:
    counts = {(v["poll_id"], v["option"]): v["votes"] for v in votes}
    return [
        {
            "question": poll["question"],
            "closesAt": poll["closes_at"].isoformat(),
            "voters": poll["voters"],
            "options": [
                {"label": label, "votes": counts.get((poll["id"], index), 0)}
                for index, label in enumerate(orjson.loads(poll["options"]))
            ],
        }
        for poll in polls
    ]


def _members(
    rows: list[asyncpg.Record], viewer_id: int
) -> tuple[list[dict[str, Any]], list[tuple[int, str, str, int]]]:
    """Member nodes in page order, and one access-log row per member read."""
    nodes: dict[int, dict[str, Any]] = {}
    values: dict[int, dict[str, Any]] = {}
    read: dict[int, tuple[list[str], list[int]]] = {}
    for row in rows:
        account_id = row["account_id"]
        if account_id not in nodes:
            nodes[account_id] = {
                "role": row["role"].upper(),
                "member": {"handle": row["handle"], "displayName": row["display_name"]},
            }
            values[account_id] = {}
        if row["key"] is None:
            continue
        allowed = account_id == viewer_id or row["grant_id"] is not None
        if allowed:
            values[account_id][row["key"]] = orjson.loads(row["value"])
        if allowed and account_id != viewer_id:
            keys, grants = read.setdefault(account_id, ([], []))
            keys.append(row["key"])
            grants.append(row["grant_id"])
    for account_id, node in nodes.items():
        node["profile"] = {
            section: {
                name: _graphql_value(values[account_id].get(f"{section}.{name}"))
                for name in names
            }
            for section, names in SECTIONS.items()
        }
    log = [
        (
            subject,
            orjson.dumps(sorted(keys)).decode(),
            orjson.dumps(sorted(set(grants))).decode(),
            len(keys),
        )
        for subject, (keys, grants) in sorted(read.items())
    ]
    return list(nodes.values()), log


def _graphql_value(value: Any) -> Any:
    """Choices go out as GraphQL enum names, as the schema spells them."""
    if isinstance(value, list):
        return [item.upper() for item in value]
    return value


def app_factory() -> Starlette:
    url = os.environ["MYCO_DATABASE_URL"]
    secret = os.environ["MYCO_SECRET_KEY"].encode()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.pool = await asyncpg.create_pool(url, min_size=2, max_size=10)
        app.state.secret = secret
        yield
        await app.state.pool.close()

    async def healthz(request: Request) -> Response:
        return Response(b"ok")

    return Starlette(
        routes=[Route("/page/{project_id:int}", page), Route("/healthz", healthz)],
        lifespan=lifespan,
    )
