"""Reading jobs for a user: the tenancy scope (apps.accounts.tenancy.owners_q) applied to
jobs, by the owner of their target. A job outside the scope is "not found"."""

from apps.accounts.tenancy import owners_q
from apps.jobs.models import Job


def visible_jobs(user):
    """The jobs `user` may see: all for staff, else those on objects the user may see."""
    return Job.objects.filter(owners_q(user))
