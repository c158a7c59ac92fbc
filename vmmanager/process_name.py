"""Which of the panel's processes this is, for PostgreSQL's `application_name`: a DBA's
`pg_stat_activity` (and the server's log, with `%a` in `log_line_prefix`) then says which
connections are the web servers', the workers', the collectors' and so on."""

import os
from pathlib import Path

# manage.py commands that are a role of the panel (docker/entrypoint.sh, compose.yaml).
ROLES = {
    "qcluster": "worker",
    "collect_stats": "collector",
    "watch_hosts": "watcher",
    "console_bridge": "console",
}


def process_name(argv):
    """`web` for daphne, the role of a manage.py command that has one, else the command's
    own name (`migrate`, `shell`), else the program's."""
    if not argv or not argv[0]:
        return "python"
    program = Path(argv[0])
    if "daphne" in program.parts:  # bin/daphne, or `python -m daphne` (daphne/__main__.py)
        return "web"
    if program.name == "manage.py" and len(argv) > 1:
        return ROLES.get(argv[1], argv[1])
    return program.name.removesuffix(".py")


def application_name(argv):
    """`vmmanager <process>` (PostgreSQL keeps 63 bytes); VMM_PROCESS names it instead."""
    name = os.environ.get("VMM_PROCESS") or process_name(argv)
    return f"vmmanager {name}"[:63]
