from tortoise import migrations
from tortoise.migrations import operations as ops
from myco_graph.domain.models import ActorKind
from tortoise import fields


class Migration(migrations.Migration):
    dependencies = [("models", "0003_projects")]

    initial = False

    operations = [
        ops.CreateModel(
            name="ActorKey",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                (
                    "actor_kind",
                    fields.CharEnumField(
                        description="INSTANCE: instance\nPERSON: person\nGROUP: group",
                        enum_type=ActorKind,
                        max_length=16,
                    ),
                ),
                ("actor_id", fields.BigIntField()),
                ("private_pem", fields.TextField(unique=False)),
                ("public_pem", fields.TextField(unique=False)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "actor_keys",
                "app": "models",
                "unique_together": (("actor_kind", "actor_id"),),
                "pk_attr": "id",
                "table_description": "The RSA key pair an ActivityPub actor of this instance signs with.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="RemoteKey",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                ("key_id", fields.CharField(unique=True, max_length=500)),
                ("owner", fields.CharField(max_length=500)),
                ("public_pem", fields.TextField(unique=False)),
                (
                    "fetched_at",
                    fields.DatetimeField(auto_now=False, auto_now_add=False),
                ),
            ],
            options={
                "table": "remote_keys",
                "app": "models",
                "pk_attr": "id",
                "table_description": "A public key of a remote actor, as its actor document last gave it.",
            },
            bases=["Model"],
        ),
    ]
