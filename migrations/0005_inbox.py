from tortoise import migrations
from tortoise.migrations import operations as ops
from myco_graph.domain.models import FollowerState
from tortoise.fields.base import OnDelete
from tortoise import fields


class Migration(migrations.Migration):
    dependencies = [("models", "0004_federation")]

    initial = False

    operations = [
        ops.CreateModel(
            name="BlockedInstance",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                ("domain", fields.CharField(unique=True, max_length=253)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "blocked_instances",
                "app": "models",
                "pk_attr": "id",
                "table_description": "A remote instance an admin blocked, by domain, subdomains included.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="ReceivedActivity",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                ("activity_id", fields.CharField(unique=True, max_length=500)),
                ("actor", fields.CharField(max_length=500)),
                ("type", fields.CharField(max_length=64)),
                (
                    "received_at",
                    fields.DatetimeField(
                        db_index=True, auto_now=False, auto_now_add=True
                    ),
                ),
            ],
            options={
                "table": "received_activities",
                "app": "models",
                "pk_attr": "id",
                "table_description": "The id of an activity an inbox processed, so that it is processed once.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="RemoteFollower",
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
                        related_name="remote_followers",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("actor", fields.CharField(max_length=500)),
                ("inbox", fields.CharField(max_length=500)),
                ("shared_inbox", fields.CharField(null=True, max_length=500)),
                ("follow_id", fields.CharField(max_length=500)),
                (
                    "state",
                    fields.CharEnumField(
                        description="ACCEPT_PENDING: accept_pending\nACCEPTED: accepted",
                        enum_type=FollowerState,
                        max_length=16,
                    ),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "remote_followers",
                "app": "models",
                "unique_together": (("project_id", "actor"),),
                "pk_attr": "id",
                "table_description": "A remote actor following a public project's Group.",
            },
            bases=["Model"],
        ),
    ]
