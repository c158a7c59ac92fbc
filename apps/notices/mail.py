"""Sending one notice (a django-q2 task): rendered in the user's language from
templates/notices/<kind>.txt (first line the subject, the rest the body), sent with Django's
mail framework (SMTP settings from the environment, docs/notices.md)."""

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import translation

logger = logging.getLogger("vmmanager.notices")

# Notices a user may turn off (User.email_notices); the others always go.
OPTIONAL = {"vm_ready", "password_reset", "traffic_warning"}
KINDS = OPTIONAL | {"suspended", "unsuspended", "traffic_limit"}


def wanted(user, kind):
    if not settings.VMM_EMAIL_NOTICES or user is None or not user.email:
        return False
    return user.email_notices or kind not in OPTIONAL


def notify(user, kind, **context):
    """Send notice `kind` to `user` once the current transaction commits (if it wants it)."""
    if not wanted(user, kind):
        return
    from django_q.tasks import async_task

    transaction.on_commit(
        lambda: async_task("apps.notices.mail.send_notice", kind, user.pk, context, task_name=f"notice-{kind}")
    )


def render(user, kind, context):
    with translation.override(user.language or settings.LANGUAGE_CODE):
        text = render_to_string(f"notices/{kind}.txt", {"user": user, **context})
    subject, _, body = text.strip().partition("\n")
    return subject.strip(), body.strip() + "\n"


def send_notice(kind, user_id, context):
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None or not wanted(user, kind):
        return False
    subject, body = render(user, kind, context)
    EmailMessage(subject, body, to=[user.email]).send()
    logger.info("notice %s sent to user %s", kind, user.pk)
    return True
