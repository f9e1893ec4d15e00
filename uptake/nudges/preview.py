"""The campaign editor's live preview: the nudge rendered for one chosen person in every
channel, exactly as dispatch would render it (same compose, same email parts, same cards)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.urls import reverse
from django.utils.translation import gettext as _

from uptake.core import clock
from uptake.core.errors import NotFound
from uptake.enrollment.models import Enrollment
from uptake.nudges import channels, rules
from uptake.nudges.channels import Content
from uptake.nudges.dispatch import _first_activities, _message_for, channels_for, learner_link
from uptake.nudges.models import Campaign
from uptake.nudges.sweep import design_for, effective, policy_for, scoped_enrollments
from uptake.people.models import Person


@dataclass(frozen=True)
class Preview:
    person: Person
    arm: str
    channels: list[str]
    content: Content
    email_text: str
    email_html: str
    email_headers: dict[str, str]
    teams_json: str
    slack_json: str
    send_at_note: str
    enrollment_note: str


def render_preview(*, campaign: Campaign, person_id: int) -> Preview:
    person = Person.objects.filter(tenant_id=campaign.tenant_id, pk=person_id).first()
    if person is None:
        raise NotFound(_("There is no person %(id)s.") % {"id": person_id})
    enrollment = (
        scoped_enrollments(campaign)
        .filter(person=person)
        .select_related("course")
        .order_by("due_at", "pk")
        .first()
    ) or (
        Enrollment.objects.filter(tenant_id=campaign.tenant_id, person=person)
        .select_related("course")
        .first()
    )
    arm = rules.arm_for(person.pk, campaign.pk, design_for(campaign, list(campaign.arms.all())))
    subject, body = _message_for(
        campaign, "" if arm == rules.HOLDOUT else arm, person.language, campaign.tenant.language
    )
    if enrollment is not None:
        activity = enrollment.last_activity_id or _first_activities({enrollment.course_id}).get(
            enrollment.course_id
        )
        link = learner_link(enrollment.pk, enrollment.course_id, activity)
        course, due_at = enrollment.course.title, enrollment.due_at
        note = ""
    else:
        link = channels.absolute(reverse("web:home"))
        course, due_at = _("Sample course"), clock.now()
        note = _("This person has no enrolment: a sample course is shown.")
    content = channels.compose(
        trigger=campaign.trigger,
        escalation=False,
        subject=subject,
        body=body,
        language=person.language,
        first_name=person.first_name,
        learner=person.full_name,
        course=course,
        due_at=due_at,
        time_zone=person.time_zone,
        link=link,
        notice=campaign.mandatory,
    )
    unsubscribe = (
        None if campaign.mandatory else channels.unsubscribe_url(person.pk, campaign.tenant_id)
    )
    text, html, headers, _attachments = channels.email_parts(
        content, unsubscribe=unsubscribe, ics=None
    )
    settings = effective(campaign, policy_for(campaign.tenant_id), campaign.tenant.time_zone)
    tz = rules.zone(person.time_zone, campaign.tenant.time_zone)
    send_at = rules.next_send_time(clock.now(), window=settings.window, tz=tz)
    return Preview(
        person=person,
        arm=arm,
        channels=channels_for(campaign, arm),
        content=content,
        email_text=text,
        email_html=html,
        email_headers=headers,
        teams_json=json.dumps(channels.teams_card(content, mention=person.full_name), indent=2),
        slack_json=json.dumps(channels.slack_message(content, mention=person.full_name), indent=2),
        send_at_note=_("If due now, it would arrive at %(when)s (%(tz)s).")
        % {"when": send_at.astimezone(tz).strftime("%a %Y-%m-%d %H:%M"), "tz": tz.key},
        enrollment_note=note,
    )
