"""Reads about audiences: always tenant-scoped, N+1-safe."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, QuerySet

from uptake.audiences import compile as sql
from uptake.audiences import rules
from uptake.audiences.models import Audience, AudienceMembership, MembershipChange
from uptake.core import clock
from uptake.core.errors import NotFound
from uptake.people.models import Person

SAMPLE_SIZE = 20
_ORDER = ("last_name", "first_name", "pk")


def list_audiences(*, tenant_id: int, include_inactive: bool = False) -> QuerySet[Audience]:
    """The tenant's audiences by name, each with `member_count` (one query)."""
    qs = Audience.objects.filter(tenant_id=tenant_id)
    if not include_inactive:
        qs = qs.filter(is_active=True)
    return qs.annotate(member_count=Count("memberships")).order_by("name", "pk")


def get_audience(*, tenant_id: int, audience_id: int) -> Audience:
    """The audience with this id in the tenant (active or not); NotFound otherwise."""
    audience = (
        Audience.objects.filter(tenant_id=tenant_id, pk=audience_id)
        .annotate(member_count=Count("memberships"))
        .first()
    )
    if audience is None:
        raise NotFound(f"There is no audience {audience_id}.")
    return audience


@dataclass(frozen=True)
class Member:
    person: Person
    joined_at: dt.datetime
    rule_version: int


@dataclass(frozen=True)
class MemberPage:
    total: int
    offset: int
    limit: int
    items: list[Member]


def members(*, audience: Audience, offset: int = 0, limit: int = 50) -> MemberPage:
    """One page of the audience's members, by name (two queries)."""
    qs = AudienceMembership.objects.filter(
        tenant_id=audience.tenant_id, audience=audience
    ).select_related("person")
    total = qs.count()
    rows = qs.order_by("person__last_name", "person__first_name", "person_id")[
        offset : offset + limit
    ]
    return MemberPage(
        total, offset, limit, [Member(m.person, m.joined_at, m.rule_version) for m in rows]
    )


@dataclass
class Preview:
    """What a rule selects now: how many, a sample by name, and against an audience's current
    members, who would join and who would leave."""

    count: int
    sample: list[Person]
    will_join: int | None = None
    will_join_sample: list[Person] = field(default_factory=list)
    will_leave: int | None = None
    will_leave_sample: list[Person] = field(default_factory=list)


def preview(*, tenant_id: int, rule: dict[str, Any], audience: Audience | None = None) -> Preview:
    """Preview a valid rule (count, first 20 by name; on edit, the difference)."""
    matching = sql.members_query(rule, tenant_id=tenant_id, today=clock.today())
    result = Preview(count=matching.count(), sample=list(matching.order_by(*_ORDER)[:SAMPLE_SIZE]))
    if audience is not None and audience.tenant_id == tenant_id:
        current = AudienceMembership.objects.filter(audience=audience).values("person_id")
        joining = matching.exclude(pk__in=current)
        leaving = Person.objects.filter(tenant_id=tenant_id, pk__in=current).exclude(
            pk__in=matching.values("pk")
        )
        result.will_join = joining.count()
        result.will_join_sample = list(joining.order_by(*_ORDER)[:SAMPLE_SIZE])
        result.will_leave = leaving.count()
        result.will_leave_sample = list(leaving.order_by(*_ORDER)[:SAMPLE_SIZE])
    return result


@dataclass(frozen=True)
class AudienceExplanation:
    audience: Audience
    is_member: bool
    matches: bool  # what the rule says today (equal to is_member unless a recompute is due)
    joined_at: dt.datetime | None
    rule_version: int | None
    why: rules.Explained


@dataclass(frozen=True)
class PersonExplanation:
    person: Person
    audiences: list[AudienceExplanation]  # members first, then the others, by name
    history: list[MembershipChange]  # newest first

    @property
    def member_of(self) -> list[AudienceExplanation]:
        return [a for a in self.audiences if a.is_member]

    @property
    def not_member_of(self) -> list[AudienceExplanation]:
        return [a for a in self.audiences if not a.is_member]


def explain_person(
    *, tenant_id: int, person: Person, history_limit: int = 100
) -> PersonExplanation:
    """Which active audiences the person is in and why: every rule evaluated on their facts
    with the result of each clause, and their membership history (newest first)."""
    if person.tenant_id != tenant_id:
        raise NotFound(f"There is no person {person.pk}.")
    audiences = list(Audience.objects.filter(tenant_id=tenant_id, is_active=True).order_by("name"))
    facts = sql.load_facts(tenant_id=tenant_id, person_ids=[person.pk]).get(person.pk, {})
    memberships = {
        m.audience_id: m
        for m in AudienceMembership.objects.filter(tenant_id=tenant_id, person=person)
    }
    today = clock.today()
    out = []
    for audience in audiences:
        membership = memberships.get(audience.pk)
        why = rules.explain(audience.rule, facts, today)
        out.append(
            AudienceExplanation(
                audience=audience,
                is_member=membership is not None,
                matches=why.result,
                joined_at=membership.joined_at if membership else None,
                rule_version=membership.rule_version if membership else None,
                why=why,
            )
        )
    out.sort(key=lambda a: (not a.is_member, a.audience.name.lower()))
    history = list(
        MembershipChange.objects.filter(tenant_id=tenant_id, person=person)
        .select_related("audience")
        .order_by("-at", "-pk")[:history_limit]
    )
    return PersonExplanation(person=person, audiences=out, history=history)


def custom_keys(*, tenant_id: int, sample: int = 2000) -> list[str]:
    """Custom attribute names in use (from a sample of people), for the builder's list."""
    keys: set[str] = set()
    for custom in Person.objects.filter(tenant_id=tenant_id).values_list("custom", flat=True)[
        :sample
    ]:
        if isinstance(custom, dict):
            keys.update(k for k in custom if rules.CUSTOM_KEY_RE.match(k))
    return sorted(keys)
