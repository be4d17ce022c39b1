"""Trigram indexes for searching public projects by name and summary.

The search is a case-insensitive substring match, which no B-tree serves:
over tens of thousands of projects PostgreSQL read them all. pg_trgm's GIN
indexes serve it; they index the very expression the ORM writes for
``icontains`` (``UPPER(CAST(column AS VARCHAR))``), or the planner would
not use them. pg_trgm is a trusted extension (PostgreSQL 13 and later): the
database's owner may create it. SQLite, for small coops, scans.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

INDEXES = {
    "projects_handle_trgm": "handle",
    "projects_summary_trgm": "summary",
}


async def create_indexes(apps, schema_editor) -> None:
    if schema_editor.client.capabilities.dialect != "postgres":
        return
    await schema_editor.client.execute_script("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, column in INDEXES.items():
        await schema_editor.client.execute_script(
            f"CREATE INDEX IF NOT EXISTS {name} ON projects "
            f"USING gin (upper(CAST({column} AS VARCHAR)) gin_trgm_ops)"
        )


async def drop_indexes(apps, schema_editor) -> None:
    if schema_editor.client.capabilities.dialect != "postgres":
        return
    for name in INDEXES:
        await schema_editor.client.execute_script(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("models", "0007_delivery_lease")]

    initial = False

    operations = [ops.RunPython(create_indexes, drop_indexes)]
