"""The account side's actions, one function per action, each checking everything that
decides whether it may happen (role, whom the actor manages, input, uniqueness) before
and while it writes. Every door (API, UI, console) calls these; none decides itself.

Each function is keyword-only and takes the acting user as `actor`. Refusals:
- django.core.exceptions.PermissionDenied when the actor's role does not allow the
  action on that object (the API answers 403);
- django.core.exceptions.ValidationError keyed by field for bad input, for a value the
  actor may not set (code "forbidden") and for a name already taken (code "unique",
  the same answer whether the duplicate came first or at the same moment:
  apps.core.uniques).

Modules: users, quotas, tokens, sshkeys, plans; `manages` (who administers whom) is in
access."""
