from tortoise import migrations
from tortoise.migrations import operations as ops
from myco_graph.domain.models import (
    ActorKind,
    BreakerState,
    DeliveryState,
    RemoteMembershipState,
)
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index
from tortoise.migrations.constraints import UniqueConstraint


class Migration(migrations.Migration):
    dependencies = [("models", "0005_inbox")]

    initial = False

    operations = [
        ops.CreateModel(
            name="OutboxActivity",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                ("activity_id", fields.CharField(unique=True, max_length=500)),
                ("type", fields.CharField(max_length=32)),
                ("object_id", fields.CharField(max_length=500)),
                (
                    "signer_kind",
                    fields.CharEnumField(
                        description="INSTANCE: instance\nPERSON: person\nGROUP: group",
                        enum_type=ActorKind,
                        max_length=16,
                    ),
                ),
                ("signer_id", fields.BigIntField()),
                ("document", fields.JSONField(encoder=JSON_DUMPS, decoder=loads)),
                (
                    "created_at",
                    fields.DatetimeField(
                        db_index=True, auto_now=False, auto_now_add=True
                    ),
                ),
            ],
            options={
                "table": "outbox_activities",
                "app": "models",
                "pk_attr": "id",
                "table_description": "An activity this instance sends, written with the change that caused it.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Delivery",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                (
                    "activity",
                    fields.ForeignKeyField(
                        "models.OutboxActivity",
                        source_field="activity_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="deliveries",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("inbox", fields.CharField(max_length=500)),
                ("host", fields.CharField(max_length=253)),
                ("object_id", fields.CharField(max_length=500)),
                (
                    "state",
                    fields.CharEnumField(
                        description="PENDING: pending\nDELIVERED: delivered\nFAILED: failed",
                        enum_type=DeliveryState,
                        max_length=16,
                    ),
                ),
                ("attempts", fields.IntField(default=0)),
                (
                    "next_attempt_at",
                    fields.DatetimeField(auto_now=False, auto_now_add=False),
                ),
                ("last_status", fields.IntField(null=True)),
                ("last_error", fields.CharField(default="", max_length=200)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                (
                    "delivered_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
            ],
            options={
                "table": "deliveries",
                "app": "models",
                "unique_together": (("activity_id", "inbox"),),
                "indexes": [
                    Index(fields=["state", "next_attempt_at"]),
                    Index(fields=["host", "state", "id"]),
                    Index(fields=["inbox", "object_id", "state"]),
                ],
                "pk_attr": "id",
                "table_description": "One outgoing activity to one inbox, a shared inbox where there is one.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="RemoteActor",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                ("url", fields.CharField(unique=True, max_length=500)),
                ("type", fields.CharField(max_length=32)),
                ("handle", fields.CharField(max_length=100)),
                ("domain", fields.CharField(db_index=True, max_length=253)),
                ("name", fields.CharField(default="", max_length=200)),
                ("summary", fields.TextField(default="", unique=False)),
                ("inbox", fields.CharField(max_length=500)),
                ("shared_inbox", fields.CharField(null=True, max_length=500)),
                ("outbox", fields.CharField(null=True, max_length=500)),
                ("followers", fields.CharField(null=True, max_length=500)),
                (
                    "fetched_at",
                    fields.DatetimeField(auto_now=False, auto_now_add=False),
                ),
            ],
            options={
                "table": "remote_actors",
                "app": "models",
                "pk_attr": "id",
                "table_description": "A remote actor as its document last said: a Group, a Person, a service.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="RemoteHost",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                ("host", fields.CharField(unique=True, max_length=253)),
                (
                    "breaker",
                    fields.CharEnumField(
                        default=BreakerState.CLOSED,
                        description="CLOSED: closed\nOPEN: open\nHALF_OPEN: half_open",
                        enum_type=BreakerState,
                        max_length=16,
                    ),
                ),
                ("consecutive_failures", fields.IntField(default=0)),
                ("total_failures", fields.BigIntField(default=0)),
                (
                    "probe_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                (
                    "last_success_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                (
                    "last_failure_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
            ],
            options={
                "table": "remote_hosts",
                "app": "models",
                "pk_attr": "id",
                "table_description": "What delivery knows of one remote host: its circuit breaker and record.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="RemoteMembership",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                (
                    "account",
                    fields.ForeignKeyField(
                        "models.Account",
                        source_field="account_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="remote_memberships",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "group",
                    fields.ForeignKeyField(
                        "models.RemoteActor",
                        source_field="group_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="memberships",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("follow_id", fields.CharField(unique=True, max_length=500)),
                (
                    "state",
                    fields.CharEnumField(
                        description="PENDING: pending\nACCEPTED: accepted\nREJECTED: rejected",
                        enum_type=RemoteMembershipState,
                        max_length=16,
                    ),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "remote_memberships",
                "app": "models",
                "unique_together": (("account_id", "group_id"),),
                "pk_attr": "id",
                "table_description": "A local member who joined a remote project by following its Group.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="RemoteNote",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                ("ap_id", fields.CharField(unique=True, max_length=500)),
                (
                    "group",
                    fields.ForeignKeyField(
                        "models.RemoteActor",
                        source_field="group_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="notes",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("author_url", fields.CharField(max_length=500)),
                ("author_name", fields.CharField(default="", max_length=200)),
                ("content", fields.TextField(unique=False)),
                (
                    "published_at",
                    fields.DatetimeField(auto_now=False, auto_now_add=False),
                ),
                (
                    "updated_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                (
                    "deleted_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
            ],
            options={
                "table": "remote_notes",
                "app": "models",
                "indexes": [Index(fields=["group_id", "id"])],
                "pk_attr": "id",
                "table_description": "A message of a remote project, as its Group relayed it to us.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Tombstone",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                ("url", fields.CharField(unique=True, max_length=500)),
                ("former_type", fields.CharField(max_length=32)),
                ("deleted_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "tombstones",
                "app": "models",
                "pk_attr": "id",
                "table_description": "An ActivityPub object of ours that was deleted: its URL answers 410.",
            },
            bases=["Model"],
        ),
        ops.AddField(
            model_name="Message",
            name="ap_id",
            field=fields.CharField(null=True, unique=True, max_length=500),
        ),
        ops.AddField(
            model_name="Message",
            name="remote_author",
            field=fields.ForeignKeyField(
                "models.RemoteActor",
                source_field="remote_author_id",
                null=True,
                db_constraint=True,
                to_field="id",
                related_name="messages",
                on_delete=OnDelete.SET_NULL,
            ),
        ),
        ops.AddField(
            model_name="Vote",
            name="remote_voter",
            field=fields.ForeignKeyField(
                "models.RemoteActor",
                source_field="remote_voter_id",
                null=True,
                db_constraint=True,
                to_field="id",
                related_name="votes",
                on_delete=OnDelete.CASCADE,
            ),
        ),
        ops.AddConstraint(
            model_name="Vote",
            constraint=UniqueConstraint(
                fields=("poll_id", "remote_voter_id", "option"), name=None
            ),
        ),
    ]
