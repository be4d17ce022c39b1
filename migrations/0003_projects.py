from tortoise import migrations
from tortoise.migrations import operations as ops
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index


class Migration(migrations.Migration):
    dependencies = [("models", "0002_profile_consent")]

    initial = False

    operations = [
        ops.CreateModel(
            name="Message",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                (
                    "project",
                    fields.ForeignKeyField(
                        "models.Project",
                        source_field="project_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="messages",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "author",
                    fields.ForeignKeyField(
                        "models.Account",
                        source_field="author_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="messages",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("body", fields.TextField(unique=False)),
                (
                    "mentions",
                    fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads),
                ),
                (
                    "links",
                    fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                (
                    "edited_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                (
                    "deleted_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                ("removed_by_admin", fields.BooleanField(default=False)),
            ],
            options={
                "table": "messages",
                "app": "models",
                "indexes": [Index(fields=["project_id", "id"])],
                "pk_attr": "id",
                "table_description": "A message in a project discussion (a deleted one keeps an empty row).",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Poll",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                (
                    "project",
                    fields.ForeignKeyField(
                        "models.Project",
                        source_field="project_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="polls",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "author",
                    fields.ForeignKeyField(
                        "models.Account",
                        source_field="author_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="polls",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("question", fields.CharField(max_length=300)),
                ("options", fields.JSONField(encoder=JSON_DUMPS, decoder=loads)),
                ("multiple", fields.BooleanField(default=False)),
                ("closes_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "polls",
                "app": "models",
                "indexes": [Index(fields=["project_id", "closes_at"])],
                "pk_attr": "id",
                "table_description": "A question to the members of a project, open until it closes.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Pool",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                (
                    "project",
                    fields.ForeignKeyField(
                        "models.Project",
                        source_field="project_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="pools",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "author",
                    fields.ForeignKeyField(
                        "models.Account",
                        source_field="author_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="pools",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("title", fields.CharField(max_length=200)),
                ("target_cents", fields.BigIntField()),
                ("deadline", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                (
                    "closed_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "pools",
                "app": "models",
                "indexes": [Index(fields=["project_id", "id"])],
                "pk_attr": "id",
                "table_description": "A money pool: a target in cents, a deadline, contributions, a ledger.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Contribution",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                (
                    "pool",
                    fields.ForeignKeyField(
                        "models.Pool",
                        source_field="pool_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="contributions",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "account",
                    fields.ForeignKeyField(
                        "models.Account",
                        source_field="account_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="contributions",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("amount_cents", fields.BigIntField()),
                ("hidden", fields.BooleanField(default=False)),
                ("payment_reference", fields.CharField(max_length=200)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "contributions",
                "app": "models",
                "indexes": [Index(fields=["pool_id", "id"])],
                "pk_attr": "id",
                "table_description": "A line of a pool ledger (the payment itself happens outside the server).",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="StoredFile",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                (
                    "project",
                    fields.ForeignKeyField(
                        "models.Project",
                        source_field="project_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="files",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "uploader",
                    fields.ForeignKeyField(
                        "models.Account",
                        source_field="uploader_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="files",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("name", fields.CharField(max_length=200)),
                ("content_type", fields.CharField(max_length=100)),
                ("size", fields.BigIntField()),
                ("storage_key", fields.CharField(unique=True, max_length=200)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "files",
                "app": "models",
                "indexes": [Index(fields=["project_id", "id"])],
                "pk_attr": "id",
                "table_description": "A file or photo of a project, whose bytes live in the storage backend.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Vote",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                (
                    "poll",
                    fields.ForeignKeyField(
                        "models.Poll",
                        source_field="poll_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="votes",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "account",
                    fields.ForeignKeyField(
                        "models.Account",
                        source_field="account_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="votes",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("option", fields.SmallIntField()),
            ],
            options={
                "table": "votes",
                "app": "models",
                "unique_together": (("poll_id", "account_id", "option"),),
                "pk_attr": "id",
                "table_description": "One option chosen by one member in one poll: a ballot is a set of these.",
            },
            bases=["Model"],
        ),
        ops.AddField(
            model_name="Event",
            name="project_id",
            field=fields.BigIntField(null=True),
        ),
        ops.AddIndex(
            model_name="Event",
            index=Index(fields=["project_id", "id"]),
        ),
        ops.AddField(
            model_name="ProjectMember",
            name="sharing",
            field=fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads),
        ),
        ops.AddField(
            model_name="ProjectMember",
            name="sharing_explicit",
            field=fields.BooleanField(default=False),
        ),
    ]
