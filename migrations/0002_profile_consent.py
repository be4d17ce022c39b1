from tortoise import migrations
from tortoise.migrations import operations as ops
from myco_graph.domain.models import (
    Audience,
    MembershipState,
    ProjectRole,
    Purpose,
    Visibility,
)
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index


class Migration(migrations.Migration):
    dependencies = [("models", "0001_initial")]

    initial = False

    operations = [
        ops.CreateModel(
            name="AccessLogEntry",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                (
                    "subject",
                    fields.ForeignKeyField(
                        "models.Account",
                        source_field="subject_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="access_log",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("viewer_key", fields.CharField(max_length=300)),
                ("viewer_id", fields.BigIntField(null=True)),
                (
                    "purpose",
                    fields.CharEnumField(
                        description="DISPLAY: display\nPROJECT_COLLABORATION: project_collaboration\nOFFER_MATCHING: offer_matching\nLEAD_DISCLOSURE: lead_disclosure\nSURVEY_TARGETING: survey_targeting\nRESEARCH: research",
                        enum_type=Purpose,
                        max_length=32,
                    ),
                ),
                ("day", fields.DateField()),
                ("field_keys", fields.JSONField(encoder=JSON_DUMPS, decoder=loads)),
                ("grant_ids", fields.JSONField(encoder=JSON_DUMPS, decoder=loads)),
                ("reads", fields.IntField()),
                ("first_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("last_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "access_log",
                "app": "models",
                "unique_together": (("subject_id", "viewer_key", "purpose", "day"),),
                "indexes": [Index(fields=["subject_id", "id"]), Index(fields=["day"])],
                "pk_attr": "id",
                "table_description": "Reads of a member's values by someone else, folded per viewer and day.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="ConsentGrant",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                (
                    "subject",
                    fields.ForeignKeyField(
                        "models.Account",
                        source_field="subject_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="consent_grants",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "audience",
                    fields.CharEnumField(
                        description="PUBLIC: public\nCOOP: coop\nPROJECT: project\nMEMBER: member\nBRAND: brand",
                        enum_type=Audience,
                        max_length=16,
                    ),
                ),
                ("audience_id", fields.BigIntField(null=True)),
                (
                    "purpose",
                    fields.CharEnumField(
                        description="DISPLAY: display\nPROJECT_COLLABORATION: project_collaboration\nOFFER_MATCHING: offer_matching\nLEAD_DISCLOSURE: lead_disclosure\nSURVEY_TARGETING: survey_targeting\nRESEARCH: research",
                        enum_type=Purpose,
                        max_length=32,
                    ),
                ),
                ("field_keys", fields.JSONField(encoder=JSON_DUMPS, decoder=loads)),
                ("explicit", fields.BooleanField(default=False)),
                (
                    "created_at",
                    fields.DatetimeField(auto_now=False, auto_now_add=False),
                ),
                (
                    "expires_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                (
                    "withdrawn_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                ("receipt", fields.JSONField(encoder=JSON_DUMPS, decoder=loads)),
                ("receipt_jws", fields.TextField(unique=False)),
            ],
            options={
                "table": "consent_grants",
                "app": "models",
                "indexes": [Index(fields=["subject_id", "id"])],
                "pk_attr": "id",
                "table_description": "A member lets an audience use some of their fields for one purpose.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="InstanceKey",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                ("use", fields.CharField(unique=True, max_length=32)),
                ("private_pem", fields.TextField(unique=False)),
                ("public_pem", fields.TextField(unique=False)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "instance_keys",
                "app": "models",
                "pk_attr": "id",
                "table_description": "A signing key of this instance (consent receipts, later federation).",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="ProfileValue",
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
                        related_name="profile_values",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("key", fields.CharField(max_length=64)),
                ("value", fields.JSONField(encoder=JSON_DUMPS, decoder=loads)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={
                "table": "profile_values",
                "app": "models",
                "unique_together": (("account_id", "key"),),
                "pk_attr": "id",
                "table_description": "A member's value for one catalogue field, as JSON.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Project",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                (
                    "name",
                    fields.OneToOneField(
                        "models.Name",
                        source_field="name_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="project",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("handle", fields.CharField(max_length=64)),
                ("summary", fields.TextField(default="", unique=False)),
                (
                    "visibility",
                    fields.CharEnumField(
                        description="PUBLIC: public\nPRIVATE: private",
                        enum_type=Visibility,
                        max_length=16,
                    ),
                ),
                (
                    "created_by",
                    fields.ForeignKeyField(
                        "models.Account",
                        source_field="created_by_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="created_projects",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "projects",
                "app": "models",
                "indexes": [Index(fields=["visibility", "id"])],
                "pk_attr": "id",
                "table_description": "A group of members working together, named in the handle namespace.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="ProjectMember",
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
                        related_name="memberships",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "account",
                    fields.ForeignKeyField(
                        "models.Account",
                        source_field="account_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="memberships",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "role",
                    fields.CharEnumField(
                        description="OWNER: owner\nADMIN: admin\nMEMBER: member",
                        enum_type=ProjectRole,
                        max_length=16,
                    ),
                ),
                (
                    "state",
                    fields.CharEnumField(
                        description="ACTIVE: active\nINVITED: invited\nREQUESTED: requested",
                        enum_type=MembershipState,
                        max_length=16,
                    ),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "project_members",
                "app": "models",
                "unique_together": (("project_id", "account_id"),),
                "indexes": [Index(fields=["account_id", "state"])],
                "pk_attr": "id",
                "table_description": "The place of an account in a project: its role, and whether it is in yet.",
            },
            bases=["Model"],
        ),
    ]
