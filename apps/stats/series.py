"""Reading series and current values back (the API, the graphs and /metrics use these;
nothing here talks to a hypervisor or imports the collector).

``series(kind, obj_id, range_name, now)`` returns the columns uPlot draws directly:
``{"t": [epoch seconds...], "cpu_pct": [...], ...}`` (``None`` where a value is unknown),
from the tier ``RANGES`` chooses for the range. Coarser tiers lag: the newest hour is
only in the minute tier, the newest minute only in the raw one. So after the chosen
tier's last bucket the series continues with the finer tiers' rows, and the graph always
reaches the last sweep.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from apps.stats.models import METRICS, HostSample, Tier, VmSample
from apps.stats.retention import WIDTH

# range -> (how far back, the tier it is read from)
RANGES = {
    "1h": (timedelta(hours=1), Tier.RAW),
    "24h": (timedelta(hours=24), Tier.MINUTE),
    "7d": (timedelta(days=7), Tier.HOUR),
    "30d": (timedelta(days=30), Tier.HOUR),
    "1y": (timedelta(days=365), Tier.DAY),
}
MODELS = {"vm": (VmSample, "vm_id"), "host": (HostSample, "host_id")}


def series(kind: str, obj_id: int, range_name: str, now: datetime) -> dict:
    """The series of VM or host ``obj_id`` (``kind`` "vm" / "host") over ``range_name``.

    Returns ``{"range", "tier", "from", "to", "points", "series": {...columns...}}``.
    Raises ``KeyError`` for an unknown range or kind (callers validate first).
    """
    span, tier = RANGES[range_name]
    model, key = MODELS[kind]
    since = now - span
    rows: list[tuple] = []
    start = since
    for current in range(tier, Tier.RAW - 1, -1):
        chunk = list(
            model.objects.filter(**{key: obj_id}, tier=current, at__gte=start)
            .order_by("at")
            .values_list("at", *METRICS)
        )
        rows += chunk
        if chunk:
            width = WIDTH[Tier(current)]
            start = chunk[-1][0] + width if width else chunk[-1][0] + timedelta(microseconds=1)
    columns = {"t": [int(row[0].timestamp()) for row in rows]}
    for index, metric in enumerate(METRICS, start=1):
        columns[metric] = [row[index] for row in rows]
    return {
        "range": range_name,
        "tier": Tier(tier).label,
        "from": int(since.timestamp()),
        "to": int(now.timestamp()),
        "points": len(rows),
        "series": columns,
    }


def latest(stale_after: float, now: datetime):
    """The newest raw row per VM and per host written within ``stale_after`` seconds.

    Returns ``(vm_rows, host_rows)``: dicts keyed by id of ``{"at", "host_id", metrics...}``.
    A collector that stopped leaves nothing current: its VMs drop out, as Prometheus expects.
    """
    since = now - timedelta(seconds=stale_after)
    out = []
    for model, key in (MODELS["vm"], MODELS["host"]):
        newest: dict[int, dict] = {}
        fields = [key, "at", *METRICS] + (["host_id"] if model is VmSample else [])
        for row in model.objects.filter(tier=Tier.RAW, at__gte=since).order_by("at").values(*fields):
            newest[row[key]] = row
        out.append(newest)
    return out[0], out[1]
