"""Each member's grants kept as one document, rewritten by the database.

The consent decision reads the grants of every member a page shows, and
grants change rarely. ``consent_digests`` holds, per member, the JSON
document of their grants (what the decision reads of each, in id order)
and a digest of it. Triggers on ``consent_grants`` rewrite the row in the
same transaction as any insert, deletion (an erased account's grants go
with it) or change to a column the decision reads, so the row is never
behind the grants; a process keeps what it parsed by digest, and reads
only digests for members it has seen.

On PostgreSQL, two transactions changing one member's grants at once would
each see the grants without the other's change: the trigger first takes
the member's account row (FOR NO KEY UPDATE, which the foreign key's own
lock does not block), so the second waits for the first to commit and then
reads its change. SQLite writes one transaction at a time and has no hash
function: its digest is the document itself.
"""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops

# The columns the decision reads, which the triggers watch for changes.
WATCHED = (
    "subject_id, audience, audience_id, purpose, field_keys, explicit, "
    "expires_at, withdrawn_at"
)

POSTGRES = [
    """
CREATE FUNCTION consent_grants_document(member bigint) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT json_agg(json_build_array(id, subject_id, audience, audience_id,
        purpose, field_keys, explicit, expires_at, withdrawn_at) ORDER BY id)::text
    FROM consent_grants WHERE subject_id = member
$$
""",
    """
CREATE FUNCTION consent_digests_rewrite(member bigint) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    document text;
BEGIN
    PERFORM 1 FROM accounts WHERE id = member FOR NO KEY UPDATE;
    document := consent_grants_document(member);
    IF document IS NULL THEN
        DELETE FROM consent_digests WHERE subject_id = member;
    ELSE
        INSERT INTO consent_digests (subject_id, digest, grants)
        VALUES (member, encode(sha256(convert_to(document, 'UTF8')), 'hex'), document)
        ON CONFLICT (subject_id) DO UPDATE
            SET digest = EXCLUDED.digest, grants = EXCLUDED.grants;
    END IF;
END
$$
""",
    """
CREATE FUNCTION consent_digests_refresh() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM consent_digests_rewrite(OLD.subject_id);
    END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.subject_id <> OLD.subject_id) THEN
        PERFORM consent_digests_rewrite(NEW.subject_id);
    END IF;
    RETURN NULL;
END
$$
""",
    f"""
CREATE TRIGGER consent_digests_refresh
AFTER INSERT OR DELETE OR UPDATE OF {WATCHED} ON consent_grants
FOR EACH ROW EXECUTE FUNCTION consent_digests_refresh()
""",
    """
INSERT INTO consent_digests (subject_id, digest, grants)
SELECT subject_id, encode(sha256(convert_to(document, 'UTF8')), 'hex'), document
FROM (
    SELECT subject_id, consent_grants_document(subject_id) AS document
    FROM consent_grants GROUP BY subject_id
) AS members
""",
]
POSTGRES_UNDO = [
    "DROP TRIGGER IF EXISTS consent_digests_refresh ON consent_grants",
    "DROP FUNCTION IF EXISTS consent_digests_refresh()",
    "DROP FUNCTION IF EXISTS consent_digests_rewrite(bigint)",
    "DROP FUNCTION IF EXISTS consent_grants_document(bigint)",
]


# One member's document, over their grants in id order; "|| ''" makes it
# plain text, as PostgreSQL's is.
SQLITE_DOCUMENT = """json_group_array(json_array(id, subject_id, audience,
    audience_id, purpose, json(field_keys), explicit, expires_at, withdrawn_at))
    || ''"""


def _sqlite_refresh(member: str) -> str:
    """Statements that rewrite the row of ``member`` (NEW or OLD's subject)."""
    return f"""
    DELETE FROM consent_digests WHERE subject_id = {member};
    INSERT INTO consent_digests (subject_id, digest, grants)
    SELECT {member}, document, document FROM (
        SELECT {SQLITE_DOCUMENT} AS document, count(*) AS grants
        FROM (SELECT * FROM consent_grants WHERE subject_id = {member} ORDER BY id)
    ) WHERE grants > 0;"""  # noqa: S608 - NEW or OLD, from the lines below


SQLITE = [
    f"""
CREATE TRIGGER consent_digests_insert AFTER INSERT ON consent_grants
BEGIN{_sqlite_refresh("NEW.subject_id")}
END
""",
    f"""
CREATE TRIGGER consent_digests_update AFTER UPDATE OF {WATCHED} ON consent_grants
BEGIN{_sqlite_refresh("OLD.subject_id")}{_sqlite_refresh("NEW.subject_id")}
END
""",
    f"""
CREATE TRIGGER consent_digests_delete AFTER DELETE ON consent_grants
BEGIN{_sqlite_refresh("OLD.subject_id")}
END
""",
    f"""
INSERT INTO consent_digests (subject_id, digest, grants)
SELECT subject_id, document, document FROM (
    SELECT subject_id, {SQLITE_DOCUMENT} AS document
    FROM (SELECT * FROM consent_grants ORDER BY subject_id, id)
    GROUP BY subject_id
)
""",  # noqa: S608 - the text is a constant
]
SQLITE_UNDO = [
    "DROP TRIGGER IF EXISTS consent_digests_insert",
    "DROP TRIGGER IF EXISTS consent_digests_update",
    "DROP TRIGGER IF EXISTS consent_digests_delete",
]


async def _run(schema_editor, postgres: list[str], sqlite: list[str]) -> None:
    client = schema_editor.client
    statements = postgres if client.capabilities.dialect == "postgres" else sqlite
    for statement in statements:
        await client.execute_script(statement)


async def create_triggers(apps, schema_editor) -> None:
    await _run(schema_editor, POSTGRES, SQLITE)


async def drop_triggers(apps, schema_editor) -> None:
    await _run(schema_editor, POSTGRES_UNDO, SQLITE_UNDO)


class Migration(migrations.Migration):
    dependencies = [("models", "0008_project_search")]

    initial = False

    operations = [
        ops.CreateModel(
            name="ConsentDigest",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                (
                    "subject",
                    fields.OneToOneField(
                        "models.Account",
                        source_field="subject_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="consent_digest",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("digest", fields.TextField(unique=False)),
                ("grants", fields.TextField(unique=False)),
            ],
            options={
                "table": "consent_digests",
                "app": "models",
                "pk_attr": "id",
                "table_description": (
                    "A member's grants as the consent decision reads them, "
                    "kept by the database."
                ),
            },
            bases=["Model"],
        ),
        ops.RunPython(create_triggers, drop_triggers),
    ]
