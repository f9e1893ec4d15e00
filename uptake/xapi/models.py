"""The xAPI learning record store: credentials, statements, documents, attachments.

Storage is shaped by the numbers in issue 6 (ADR 0006): a statement is kept once as compact
JSON (`data`, without the id, stored time and authority, which are columns), next to a few
narrow indexed columns: 64-bit hashes of the actor and the object (activity id or agent
identifier), the verb as a small integer from a lookup table, the stored time, the
registration, and the voided flag. Filters that need more (related agents/activities) read the
JSON of the candidate rows.
"""

from __future__ import annotations

from django.db import models

from uptake.core.models import TenantScoped


class Credential(TenantScoped):
    """A client's key and secret for HTTP Basic auth on /xapi/; the secret is stored as SHA-256
    (it is random and long, like API tokens) and shown once."""

    name = models.CharField(max_length=100)
    key = models.CharField(max_length=40, unique=True)
    secret_hash = models.CharField(max_length=64)
    can_read = models.BooleanField(default=True)
    can_write = models.BooleanField(default=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.key})"


class Verb(models.Model):
    """Lookup table: a verb IRI as a small integer (shared by all tenants; holds no data)."""

    iri = models.CharField(max_length=2048, unique=True)

    def __str__(self) -> str:
        return self.iri


class Statement(models.Model):
    """One stored statement. Not `TenantScoped` on purpose: no created/updated columns (the
    stored time is the one timestamp), to keep the row small."""

    tenant = models.ForeignKey("tenancy.Tenant", on_delete=models.CASCADE, related_name="+")
    statement_id = models.UUIDField()
    stored = models.DateTimeField()
    actor_key = models.BigIntegerField()
    verb = models.ForeignKey(Verb, on_delete=models.PROTECT, related_name="+")
    object_key = models.BigIntegerField()
    registration = models.UUIDField(null=True, blank=True)
    ref_id = models.UUIDField(null=True, blank=True)  # target of a StatementRef object
    voided = models.BooleanField(default=False)
    credential_id = models.IntegerField(null=True, blank=True)  # the authority
    data = models.TextField()  # compact JSON, without id / stored / authority

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "statement_id"], name="xapi_stmt_unique_id")
        ]
        indexes = [
            models.Index(fields=["tenant", "stored"], name="xapi_stmt_stored"),
            models.Index(fields=["tenant", "actor_key", "verb", "stored"], name="xapi_stmt_actor"),
            models.Index(fields=["tenant", "object_key", "stored"], name="xapi_stmt_object"),
            models.Index(
                fields=["tenant", "registration", "stored"],
                name="xapi_stmt_registration",
                condition=models.Q(registration__isnull=False),
            ),
            models.Index(
                fields=["tenant", "ref_id"],
                name="xapi_stmt_ref",
                condition=models.Q(ref_id__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return str(self.statement_id)


class Attachment(TenantScoped):
    """Attachment content sent with statements, by its SHA-2 hash (shared by statements)."""

    sha2 = models.CharField(max_length=128)
    content_type = models.CharField(max_length=255)
    content = models.BinaryField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "sha2"], name="xapi_attachment_unique")
        ]

    def __str__(self) -> str:
        return self.sha2


class Document(TenantScoped):
    """A state, activity profile or agent profile document."""

    class Kind(models.TextChoices):
        STATE = "state", "state"
        ACTIVITY_PROFILE = "activity_profile", "activity profile"
        AGENT_PROFILE = "agent_profile", "agent profile"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    activity_id = models.CharField(max_length=2048, blank=True)
    agent_key = models.BigIntegerField(default=0)  # 0: no agent (activity profile)
    registration = models.CharField(max_length=36, blank=True)
    document_id = models.CharField(max_length=2048)
    content_type = models.CharField(max_length=255)
    content = models.BinaryField()
    etag = models.CharField(max_length=40)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "tenant",
                    "kind",
                    "activity_id",
                    "agent_key",
                    "registration",
                    "document_id",
                ],
                name="xapi_document_unique",
            )
        ]
        indexes = [models.Index(fields=["tenant", "kind", "activity_id", "agent_key"])]

    def __str__(self) -> str:
        return f"{self.kind}:{self.document_id}"


class ActivityDefinition(TenantScoped):
    """The canonical definition of an activity: the latest one sent in a statement."""

    activity_id = models.CharField(max_length=2048)
    key = models.BigIntegerField()
    definition = models.JSONField(default=dict)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "key"], name="xapi_activity_unique")
        ]

    def __str__(self) -> str:
        return self.activity_id


class Forwarding(TenantScoped):
    """The organisation's setting for sending its own learning events, as xAPI statements, to
    an external LRS (ADR 0012). The LRS's secret is needed to send, so it is stored encrypted
    (Fernet, key derived from SECRET_KEY), never shown again. `last_event_id`: the learning
    events up to this one are queued in the outbox already."""

    endpoint = models.CharField(max_length=500)  # the LRS's base URL, ".../statements" added
    key = models.CharField(max_length=200)
    secret_encrypted = models.TextField()
    is_active = models.BooleanField(default=True)
    last_event_id = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant"], name="xapi_forwarding_one_per_tenant")
        ]

    def __str__(self) -> str:
        return self.endpoint
