"""Every action reachable from a door has rows in tests/doors/actions.py (VMs),
tests/doors/test_image_and_host_parity.py (images, hosts), tests/doors/test_people_parity.py
(users, quotas, plans, tokens, SSH keys), tests/doors/test_address_parity.py (reverse DNS
names), tests/doors/test_console_parity.py (consoles), tests/doors/test_webhook_parity.py
(deleting webhook endpoints), tests/doors/test_snapshot_parity.py (VM snapshots) or
tests/doors/test_backup_parity.py (backups, backup repositories) or
tests/doors/test_warm_pool_parity.py (warm pools): read from the web UI's URLconf and
the API router, so a new page or endpoint that changes something cannot be added without
saying how the other door does the same (or why it has one door only)."""

from apps.api.urls import router
from apps.ui.urls import urlpatterns
from tests.doors import test_address_parity as addresses
from tests.doors import test_backup_parity as backups
from tests.doors import test_console_parity as console
from tests.doors import test_image_and_host_parity as images_and_hosts
from tests.doors import test_people_parity as people
from tests.doors import test_snapshot_parity as snapshots
from tests.doors import test_warm_pool_parity as warm_pools
from tests.doors import test_webhook_parity as webhooks
from tests.doors.actions import ACTIONS, API_ONLY, UI_ONLY, UI_READ_ONLY

WRITES = {"post", "put", "patch", "delete"}


def api_writes():
    """(basename, viewset action) for every route of the router that changes something."""
    found = set()
    for _prefix, viewset, basename in router.registry:
        for route in router.get_routes(viewset):
            for method, action in route.mapping.items():
                if method in WRITES and method in viewset.http_method_names and hasattr(viewset, action):
                    found.add((basename, action))
    return found


def test_every_page_of_the_web_ui_is_an_action_with_a_row_or_changes_nothing():
    rows = (
        {action.ui_route for action in ACTIONS}
        | set(images_and_hosts.UI_ROUTES)
        | set(people.UI_ROUTES)
        | set(addresses.UI_ROUTES)
        | set(console.UI_ROUTES)
        | set(webhooks.UI_ROUTES)
        | set(snapshots.UI_ROUTES)
        | set(backups.UI_ROUTES)
        | set(warm_pools.UI_ROUTES)
    )
    named = {pattern.name for pattern in urlpatterns}
    assert named - rows - set(UI_READ_ONLY) - set(UI_ONLY) == set()
    assert rows & set(UI_ONLY) == set() and rows & set(UI_READ_ONLY) == set()
    assert (rows | set(UI_ONLY) | set(UI_READ_ONLY)) - named == set(), "the table names pages that do not exist"


def test_every_api_route_that_changes_something_has_a_row_or_a_reason():
    rows = (
        {action.api_route for action in ACTIONS}
        | set(images_and_hosts.API_ROUTES)
        | set(people.API_ROUTES)
        | set(addresses.API_ROUTES)
        | set(console.API_ROUTES)
        | set(webhooks.API_ROUTES)
        | set(snapshots.API_ROUTES)
        | set(backups.API_ROUTES)
        | set(warm_pools.API_ROUTES)
    )
    writes = api_writes()
    assert writes - rows - set(API_ONLY) == set()
    assert rows & set(API_ONLY) == set()
    assert (rows | set(API_ONLY)) - writes == set(), "the table names routes that do not exist"


def test_every_row_has_an_input_both_doors_refuse():
    assert [action.name for action in ACTIONS if not action.refused] == []
