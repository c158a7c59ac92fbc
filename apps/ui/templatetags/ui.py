"""Filters for the panel's templates: badges, usage bars, durations, translated names."""

from django import template
from django.utils import timezone
from django.utils.html import format_html, json_script
from django.utils.timesince import timesince
from django.utils.translation import gettext as _

from apps.ui import labels

register = template.Library()


@register.filter
def label(value, kind):
    """{{ vm.power_state|label:"power" }} → the translated name."""
    return labels.label(kind, value)


@register.simple_tag
def badge(kind, value):
    """A coloured state badge: {% badge "power" vm.power_state %} (live.js draws the same)."""
    return format_html('<span class="badge badge-{}">{}</span>', labels.tone(kind, value), labels.label(kind, value))


@register.simple_tag(takes_context=True)
def sort_href(context, key):
    """The list's query string sorted by `key`, descending if it is already sorted by it."""
    params = context["request"].GET.copy()
    params["sort"] = f"-{key}" if params.get("sort", "name") == key else key
    params.pop("page", None)
    return "?" + params.urlencode()


@register.simple_tag(takes_context=True)
def sort_mark(context, key):
    current = context["request"].GET.get("sort", "name")
    return "↑" if current == key else "↓" if current == f"-{key}" else ""


@register.filter
def percent(used, total):
    """used/total as a whole percentage between 0 and 100 (0 when total is 0)."""
    try:
        return max(0, min(100, round(100 * float(used) / float(total))))
    except (TypeError, ValueError, ZeroDivisionError):
        return 0


@register.filter
def level(pct):
    """The usage bar's colour for a percentage."""
    return "bad" if pct >= 90 else "warn" if pct >= 75 else "ok"


@register.filter
def seconds(delta):
    """A timedelta as '0.4 s', '12 s' or '3 min 05 s'; empty for None."""
    if delta is None:
        return ""
    total = delta.total_seconds()
    if total < 10:
        return f"{total:.1f} {_('s')}"
    if total < 60:
        return f"{int(total)} {_('s')}"
    return f"{int(total // 60)} {_('min')} {int(total % 60):02d} {_('s')}"


@register.filter
def ago(moment):
    """'just now', '5 minutes ago', '2 hours ago' (the largest unit only); empty for None."""
    if moment is None:
        return ""
    if (timezone.now() - moment).total_seconds() < 60:
        return _("just now")
    return _("%(time)s ago") % {"time": timesince(moment, depth=1)}


@register.filter
def gib(megabytes):
    """MiB as GiB with one decimal when needed."""
    value = (megabytes or 0) / 1024
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}"


@register.simple_tag
def labels_script():
    """The translated tables as <script id="ui-labels" type="application/json">."""
    return json_script(labels.labels_for_js(), "ui-labels")
