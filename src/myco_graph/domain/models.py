"""The tables of an instance.

Money is always integer cents. Every growing table carries the index its
reads need. The first line of a model docstring becomes a table comment in
the migration, which the ORM splits on semicolons: none there.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model


class AccountKind(StrEnum):
    MEMBER = "member"
    BRAND = "brand"
    ADMIN = "admin"


class TokenKind(StrEnum):
    SESSION = "session"
    API = "api"


class Name(Model):
    """One row per taken name: handles and project names share this namespace.

    ``key`` is the case-folded name, so that ``Alice`` and ``alice`` collide
    whatever kind of thing holds them.
    """

    id = fields.BigIntField(primary_key=True)
    key = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "names"


class Account(Model):
    """A member, a brand or an admin: anyone who signs in."""

    id = fields.BigIntField(primary_key=True)
    kind = fields.CharEnumField(AccountKind, max_length=16)
    name: fields.OneToOneRelation[Name] = fields.OneToOneField(
        "models.Name", related_name="account", on_delete=fields.RESTRICT
    )
    name_id: int
    handle = fields.CharField(max_length=64)
    display_name = fields.CharField(max_length=100)
    email = fields.CharField(max_length=254, unique=True)
    password_hash = fields.CharField(max_length=200)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "accounts"


class Token(Model):
    """A bearer token: a login session or a brand's API token.

    Only the keyed hash of the token is stored; the token itself is shown once.
    """

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="tokens", on_delete=fields.CASCADE
    )
    account_id: int
    kind = fields.CharEnumField(TokenKind, max_length=16)
    label = fields.CharField(max_length=100, default="")
    digest = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "tokens"
        indexes = [Index(fields=["account_id", "kind"])]


class ShareEntry(Model):
    """One line of the share register: shares subscribed by a member.

    When a member erases their account, the line stays with ``account`` set
    to null: the register is a legal record of the cooperative's capital.
    """

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyNullableRelation[Account] = fields.ForeignKeyField(
        "models.Account",
        related_name="share_entries",
        null=True,
        on_delete=fields.SET_NULL,
    )
    account_id: int | None
    shares = fields.IntField()
    unit_price_cents = fields.IntField()
    amount_cents = fields.BigIntField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "share_entries"
        indexes = [Index(fields=["account_id", "id"])]


class Event(Model):
    """What happened, written in the same transaction as the change itself.

    Subscriptions and, later, federation read these; ``payload`` never holds a
    member's personal profile value.
    """

    id = fields.BigIntField(primary_key=True)
    kind = fields.CharField(max_length=64)
    account: fields.ForeignKeyNullableRelation[Account] = fields.ForeignKeyField(
        "models.Account",
        related_name="events",
        null=True,
        on_delete=fields.SET_NULL,
    )
    account_id: int | None
    project_id = fields.BigIntField(null=True)
    payload: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)

    class Meta:
        table = "events"
        indexes = [
            Index(fields=["account_id", "id"]),
            Index(fields=["project_id", "id"]),
        ]


class Audience(StrEnum):
    PUBLIC = "public"
    COOP = "coop"
    PROJECT = "project"
    MEMBER = "member"
    BRAND = "brand"


class Purpose(StrEnum):
    DISPLAY = "display"
    PROJECT_COLLABORATION = "project_collaboration"
    OFFER_MATCHING = "offer_matching"
    LEAD_DISCLOSURE = "lead_disclosure"
    SURVEY_TARGETING = "survey_targeting"
    RESEARCH = "research"


class ProfileValue(Model):
    """A member's value for one catalogue field, as JSON.

    Stored as ``{"v": value}``: the ORM would take a bare string for JSON text.
    """

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="profile_values", on_delete=fields.CASCADE
    )
    account_id: int
    key = fields.CharField(max_length=64)
    value: fields.JSONField[dict[str, Any]] = fields.JSONField()
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "profile_values"
        unique_together = (("account_id", "key"),)


class ConsentGrant(Model):
    """A member lets an audience use some of their fields for one purpose.

    Never edited in place except to record its withdrawal, so its history
    stays; ``receipt`` is the signed record handed to the member.
    """

    id = fields.BigIntField(primary_key=True)
    subject: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="consent_grants", on_delete=fields.CASCADE
    )
    subject_id: int
    audience = fields.CharEnumField(Audience, max_length=16)
    audience_id = fields.BigIntField(null=True)
    purpose = fields.CharEnumField(Purpose, max_length=32)
    field_keys: fields.JSONField[list[str]] = fields.JSONField()
    explicit = fields.BooleanField(default=False)
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField(null=True)
    withdrawn_at = fields.DatetimeField(null=True)
    receipt: fields.JSONField[dict[str, Any]] = fields.JSONField()
    receipt_jws = fields.TextField()

    class Meta:
        table = "consent_grants"
        indexes = [Index(fields=["subject_id", "id"])]


class ConsentDigest(Model):
    """A member's grants as the consent decision reads them, kept by the database.

    Every page of members reads the grants of everyone on it, and grants
    change rarely: triggers on ``consent_grants`` (see the migration that
    made this table) rewrite the row in the same transaction as any change
    to a member's grants, so ``grants`` is always the JSON document of them
    all and ``digest`` changes whenever it does. A process keeps what it
    parsed by digest and reads only digests for pages it has seen. Written
    by those triggers only.
    """

    id = fields.BigIntField(primary_key=True)
    subject: fields.OneToOneRelation[Account] = fields.OneToOneField(
        "models.Account", related_name="consent_digest", on_delete=fields.CASCADE
    )
    subject_id: int
    # SHA-256 of ``grants`` in hex on PostgreSQL; SQLite, which has no hash
    # function, keeps the document itself here.
    digest = fields.TextField()
    grants = fields.TextField()

    class Meta:
        table = "consent_digests"


class AccessLogEntry(Model):
    """Reads of a member's values by someone else, folded per viewer and day.

    One row per subject, viewer, purpose and day holds the fields read, the
    grants that allowed them and how many reads there were.
    """

    id = fields.BigIntField(primary_key=True)
    subject: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="access_log", on_delete=fields.CASCADE
    )
    subject_id: int
    viewer_key = fields.CharField(max_length=300)
    viewer_id = fields.BigIntField(null=True)
    purpose = fields.CharEnumField(Purpose, max_length=32)
    day = fields.DateField()
    field_keys: fields.JSONField[list[str]] = fields.JSONField()
    grant_ids: fields.JSONField[list[int]] = fields.JSONField()
    reads = fields.IntField()
    first_at = fields.DatetimeField()
    last_at = fields.DatetimeField()

    class Meta:
        table = "access_log"
        unique_together = (("subject_id", "viewer_key", "purpose", "day"),)
        indexes = [Index(fields=["subject_id", "id"]), Index(fields=["day"])]


class InstanceKey(Model):
    """A signing key of this instance (consent receipts, later federation)."""

    id = fields.BigIntField(primary_key=True)
    use = fields.CharField(max_length=32, unique=True)
    private_pem = fields.TextField()
    public_pem = fields.TextField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "instance_keys"


class Visibility(StrEnum):
    PUBLIC = "public"
    PRIVATE = "private"


class ProjectRole(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"


class MembershipState(StrEnum):
    ACTIVE = "active"
    INVITED = "invited"
    REQUESTED = "requested"


class Project(Model):
    """A group of members working together, named in the handle namespace."""

    id = fields.BigIntField(primary_key=True)
    name: fields.OneToOneRelation[Name] = fields.OneToOneField(
        "models.Name", related_name="project", on_delete=fields.RESTRICT
    )
    name_id: int
    handle = fields.CharField(max_length=64)
    summary = fields.TextField(default="")
    visibility = fields.CharEnumField(Visibility, max_length=16)
    created_by: fields.ForeignKeyNullableRelation[Account] = fields.ForeignKeyField(
        "models.Account",
        related_name="created_projects",
        null=True,
        on_delete=fields.SET_NULL,
    )
    created_by_id: int | None
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "projects"
        indexes = [Index(fields=["visibility", "id"])]


class ProjectMember(Model):
    """The place of an account in a project: its role, and whether it is in yet."""

    id = fields.BigIntField(primary_key=True)
    project: fields.ForeignKeyRelation[Project] = fields.ForeignKeyField(
        "models.Project", related_name="memberships", on_delete=fields.CASCADE
    )
    project_id: int
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="memberships", on_delete=fields.CASCADE
    )
    account_id: int
    role = fields.CharEnumField(ProjectRole, max_length=16)
    state = fields.CharEnumField(MembershipState, max_length=16)
    # What the newcomer chose to share with the project's members; it becomes
    # a grant when the membership becomes active.
    sharing: fields.JSONField[list[str]] = fields.JSONField(default=list)
    sharing_explicit = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "project_members"
        unique_together = (("project_id", "account_id"),)
        indexes = [Index(fields=["account_id", "state"])]


class Message(Model):
    """A message in a project discussion (a deleted one keeps an empty row)."""

    id = fields.BigIntField(primary_key=True)
    project: fields.ForeignKeyRelation[Project] = fields.ForeignKeyField(
        "models.Project", related_name="messages", on_delete=fields.CASCADE
    )
    project_id: int
    author: fields.ForeignKeyNullableRelation[Account] = fields.ForeignKeyField(
        "models.Account",
        related_name="messages",
        null=True,
        on_delete=fields.SET_NULL,
    )
    author_id: int | None
    # A message written on another instance: its author and its Note's id.
    remote_author: fields.ForeignKeyNullableRelation[RemoteActor] = (
        fields.ForeignKeyField(
            "models.RemoteActor",
            related_name="messages",
            null=True,
            on_delete=fields.SET_NULL,
        )
    )
    remote_author_id: int | None
    ap_id = fields.CharField(max_length=500, null=True, unique=True)
    body = fields.TextField()
    mentions: fields.JSONField[list[int]] = fields.JSONField(default=list)
    links: fields.JSONField[list[str]] = fields.JSONField(default=list)
    created_at = fields.DatetimeField(auto_now_add=True)
    edited_at = fields.DatetimeField(null=True)
    deleted_at = fields.DatetimeField(null=True)
    removed_by_admin = fields.BooleanField(default=False)

    class Meta:
        table = "messages"
        indexes = [Index(fields=["project_id", "id"])]


class Poll(Model):
    """A question to the members of a project, open until it closes."""

    id = fields.BigIntField(primary_key=True)
    project: fields.ForeignKeyRelation[Project] = fields.ForeignKeyField(
        "models.Project", related_name="polls", on_delete=fields.CASCADE
    )
    project_id: int
    author: fields.ForeignKeyNullableRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="polls", null=True, on_delete=fields.SET_NULL
    )
    author_id: int | None
    question = fields.CharField(max_length=300)
    options: fields.JSONField[list[str]] = fields.JSONField()
    multiple = fields.BooleanField(default=False)
    closes_at = fields.DatetimeField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "polls"
        indexes = [Index(fields=["project_id", "closes_at"])]


class Vote(Model):
    """One option chosen by one member in one poll: a ballot is a set of these.

    Who voted what stays in the database only to let a member change their
    ballot; the API shows counts alone.
    """

    id = fields.BigIntField(primary_key=True)
    poll: fields.ForeignKeyRelation[Poll] = fields.ForeignKeyField(
        "models.Poll", related_name="votes", on_delete=fields.CASCADE
    )
    poll_id: int
    account: fields.ForeignKeyNullableRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="votes", null=True, on_delete=fields.SET_NULL
    )
    account_id: int | None
    # A ballot cast from another instance counts here; only counts go out.
    remote_voter: fields.ForeignKeyNullableRelation[RemoteActor] = (
        fields.ForeignKeyField(
            "models.RemoteActor",
            related_name="votes",
            null=True,
            on_delete=fields.CASCADE,
        )
    )
    remote_voter_id: int | None
    option = fields.SmallIntField()

    class Meta:
        table = "votes"
        unique_together = (
            ("poll_id", "account_id", "option"),
            ("poll_id", "remote_voter_id", "option"),
        )


class Pool(Model):
    """A money pool: a target in cents, a deadline, contributions, a ledger."""

    id = fields.BigIntField(primary_key=True)
    project: fields.ForeignKeyRelation[Project] = fields.ForeignKeyField(
        "models.Project", related_name="pools", on_delete=fields.CASCADE
    )
    project_id: int
    author: fields.ForeignKeyNullableRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="pools", null=True, on_delete=fields.SET_NULL
    )
    author_id: int | None
    title = fields.CharField(max_length=200)
    target_cents = fields.BigIntField()
    deadline = fields.DatetimeField()
    closed_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "pools"
        indexes = [Index(fields=["project_id", "id"])]


class Contribution(Model):
    """A line of a pool ledger (the payment itself happens outside the server)."""

    id = fields.BigIntField(primary_key=True)
    pool: fields.ForeignKeyRelation[Pool] = fields.ForeignKeyField(
        "models.Pool", related_name="contributions", on_delete=fields.CASCADE
    )
    pool_id: int
    account: fields.ForeignKeyNullableRelation[Account] = fields.ForeignKeyField(
        "models.Account",
        related_name="contributions",
        null=True,
        on_delete=fields.SET_NULL,
    )
    account_id: int | None
    amount_cents = fields.BigIntField()
    hidden = fields.BooleanField(default=False)
    payment_reference = fields.CharField(max_length=200)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "contributions"
        indexes = [Index(fields=["pool_id", "id"])]


class StoredFile(Model):
    """A file or photo of a project, whose bytes live in the storage backend."""

    id = fields.BigIntField(primary_key=True)
    project: fields.ForeignKeyRelation[Project] = fields.ForeignKeyField(
        "models.Project", related_name="files", on_delete=fields.CASCADE
    )
    project_id: int
    uploader: fields.ForeignKeyNullableRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="files", null=True, on_delete=fields.SET_NULL
    )
    uploader_id: int | None
    name = fields.CharField(max_length=200)
    content_type = fields.CharField(max_length=100)
    size = fields.BigIntField()
    storage_key = fields.CharField(max_length=200, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "files"
        indexes = [Index(fields=["project_id", "id"])]


class ActorKind(StrEnum):
    INSTANCE = "instance"
    PERSON = "person"
    GROUP = "group"


class ActorKey(Model):
    """The RSA key pair an ActivityPub actor of this instance signs with.

    ``actor_id`` is the account of a Person, the project of a Group, and 0 for
    the instance actor. A key is made on first need and kept even when its
    actor goes, so that a last Delete can still be signed.
    """

    id = fields.BigIntField(primary_key=True)
    actor_kind = fields.CharEnumField(ActorKind, max_length=16)
    actor_id = fields.BigIntField()
    private_pem = fields.TextField()
    public_pem = fields.TextField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "actor_keys"
        unique_together = (("actor_kind", "actor_id"),)


class RemoteKey(Model):
    """A public key of a remote actor, as its actor document last gave it.

    Fetched again when a signature fails to verify with it, since the remote
    actor may have rotated its key.
    """

    id = fields.BigIntField(primary_key=True)
    key_id = fields.CharField(max_length=500, unique=True)
    owner = fields.CharField(max_length=500)
    public_pem = fields.TextField()
    fetched_at = fields.DatetimeField()

    class Meta:
        table = "remote_keys"


class BlockedInstance(Model):
    """A remote instance an admin blocked, by domain, subdomains included.

    Its requests to our inboxes are refused with 403.
    """

    id = fields.BigIntField(primary_key=True)
    domain = fields.CharField(max_length=253, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "blocked_instances"


class ReceivedActivity(Model):
    """The id of an activity an inbox processed, so that it is processed once.

    Kept a week (a sender's retries end well before), then purged by
    received_at.
    """

    id = fields.BigIntField(primary_key=True)
    activity_id = fields.CharField(max_length=500, unique=True)
    actor = fields.CharField(max_length=500)
    type = fields.CharField(max_length=64)
    received_at = fields.DatetimeField(auto_now_add=True, db_index=True)

    class Meta:
        table = "received_activities"


class FollowerState(StrEnum):
    # We accepted the Follow; the Accept activity is still to be delivered.
    ACCEPT_PENDING = "accept_pending"
    # The Accept was delivered: the follower receives the Group's activities.
    ACCEPTED = "accepted"


class RemoteFollower(Model):
    """A remote actor following a public project's Group.

    ``follow_id`` is the id of its Follow activity, which our Accept names.
    """

    id = fields.BigIntField(primary_key=True)
    project: fields.ForeignKeyRelation[Project] = fields.ForeignKeyField(
        "models.Project", related_name="remote_followers", on_delete=fields.CASCADE
    )
    project_id: int
    actor = fields.CharField(max_length=500)
    inbox = fields.CharField(max_length=500)
    shared_inbox = fields.CharField(max_length=500, null=True)
    follow_id = fields.CharField(max_length=500)
    state = fields.CharEnumField(FollowerState, max_length=16)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "remote_followers"
        unique_together = (("project_id", "actor"),)


class RemoteActor(Model):
    """A remote actor as its document last said: a Group, a Person, a service.

    Cached so that names, inboxes and authors need no fetch on every read.
    """

    id = fields.BigIntField(primary_key=True)
    url = fields.CharField(max_length=500, unique=True)
    type = fields.CharField(max_length=32)
    handle = fields.CharField(max_length=100)
    domain = fields.CharField(max_length=253, db_index=True)
    name = fields.CharField(max_length=200, default="")
    summary = fields.TextField(default="")
    inbox = fields.CharField(max_length=500)
    shared_inbox = fields.CharField(max_length=500, null=True)
    outbox = fields.CharField(max_length=500, null=True)
    followers = fields.CharField(max_length=500, null=True)
    fetched_at = fields.DatetimeField()

    class Meta:
        table = "remote_actors"


class RemoteMembershipState(StrEnum):
    # Our Follow is on its way or awaits the group's answer.
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class RemoteMembership(Model):
    """A local member who joined a remote project by following its Group."""

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="remote_memberships", on_delete=fields.CASCADE
    )
    account_id: int
    group: fields.ForeignKeyRelation[RemoteActor] = fields.ForeignKeyField(
        "models.RemoteActor", related_name="memberships", on_delete=fields.CASCADE
    )
    group_id: int
    follow_id = fields.CharField(max_length=500, unique=True)
    state = fields.CharEnumField(RemoteMembershipState, max_length=16)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "remote_memberships"
        unique_together = (("account_id", "group_id"),)


class RemoteNote(Model):
    """A message of a remote project, as its Group relayed it to us."""

    id = fields.BigIntField(primary_key=True)
    ap_id = fields.CharField(max_length=500, unique=True)
    group: fields.ForeignKeyRelation[RemoteActor] = fields.ForeignKeyField(
        "models.RemoteActor", related_name="notes", on_delete=fields.CASCADE
    )
    group_id: int
    author_url = fields.CharField(max_length=500)
    author_name = fields.CharField(max_length=200, default="")
    content = fields.TextField()
    published_at = fields.DatetimeField()
    updated_at = fields.DatetimeField(null=True)
    deleted_at = fields.DatetimeField(null=True)

    class Meta:
        table = "remote_notes"
        indexes = [Index(fields=["group_id", "id"])]


class Tombstone(Model):
    """An ActivityPub object of ours that was deleted: its URL answers 410."""

    id = fields.BigIntField(primary_key=True)
    url = fields.CharField(max_length=500, unique=True)
    former_type = fields.CharField(max_length=32)
    deleted_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "tombstones"


class OutboxActivity(Model):
    """An activity this instance sends, written with the change that caused it.

    ``object_id`` orders deliveries: to one inbox, activities on the same
    object go out in the order they were written. ``signer`` names the local
    actor whose key signs the deliveries.
    """

    id = fields.BigIntField(primary_key=True)
    activity_id = fields.CharField(max_length=500, unique=True)
    type = fields.CharField(max_length=32)
    object_id = fields.CharField(max_length=500)
    signer_kind = fields.CharEnumField(ActorKind, max_length=16)
    signer_id = fields.BigIntField()
    document: fields.JSONField[dict[str, Any]] = fields.JSONField()
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)

    class Meta:
        table = "outbox_activities"


class DeliveryState(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    # Given up: a final 4xx, a blocked host, or retries exhausted.
    FAILED = "failed"


class Delivery(Model):
    """One outgoing activity to one inbox, a shared inbox where there is one."""

    id = fields.BigIntField(primary_key=True)
    activity: fields.ForeignKeyRelation[OutboxActivity] = fields.ForeignKeyField(
        "models.OutboxActivity", related_name="deliveries", on_delete=fields.CASCADE
    )
    activity_id: int
    inbox = fields.CharField(max_length=500)
    host = fields.CharField(max_length=253)
    object_id = fields.CharField(max_length=500)
    state = fields.CharEnumField(DeliveryState, max_length=16)
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField()
    last_status = fields.IntField(null=True)
    last_error = fields.CharField(max_length=200, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    delivered_at = fields.DatetimeField(null=True)
    # Set while a worker sends it: no other worker takes it until then, and a
    # crashed worker's claim runs out by itself.
    leased_until = fields.DatetimeField(null=True)

    class Meta:
        table = "deliveries"
        unique_together = (("activity_id", "inbox"),)
        indexes = [
            Index(fields=["state", "next_attempt_at"]),
            Index(fields=["host", "state", "id"]),
            Index(fields=["inbox", "object_id", "state"]),
        ]


class BreakerState(StrEnum):
    CLOSED = "closed"
    # Failing: deliveries to the host wait until the probe time.
    OPEN = "open"
    # One probe delivery is in flight; its outcome closes or reopens.
    HALF_OPEN = "half_open"


class RemoteHost(Model):
    """What delivery knows of one remote host: its circuit breaker and record."""

    id = fields.BigIntField(primary_key=True)
    host = fields.CharField(max_length=253, unique=True)
    breaker = fields.CharEnumField(
        BreakerState, max_length=16, default=BreakerState.CLOSED
    )
    consecutive_failures = fields.IntField(default=0)
    total_failures = fields.BigIntField(default=0)
    probe_at = fields.DatetimeField(null=True)
    last_success_at = fields.DatetimeField(null=True)
    last_failure_at = fields.DatetimeField(null=True)

    class Meta:
        table = "remote_hosts"
