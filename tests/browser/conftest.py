"""Browser tests: Debian's chromium driven by Playwright against a real daphne server on
the test database, with a real worker when a test needs jobs to run.

The browser is started and stopped per module (not pytest-playwright's session-wide
instance): Playwright's sync API keeps an event loop marked running in this thread while
it lives, which async tests elsewhere in the suite must not inherit."""

from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from tests.browser import processes
from tests.browser.proxy import start_nginx

# The real host and demo image of the deploy tests, for the journey on a real VM.
from tests.deploy.conftest import image_store, local_host, plain_image  # noqa: F401

PREFIX = "/panel"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]


@pytest.fixture
def panel(django_db_setup, django_db_blocker, tmp_path_factory):
    """(base URL, queue name, data dir) of a daphne server on the test database.

    One server per test: the database is flushed between tests, which gives the content
    types new ids, and a server kept from an earlier test would still cache the old ones
    (every job it then creates would point at a content type that no longer exists)."""
    data_dir = tmp_path_factory.mktemp("panel")
    queue = processes.new_queue()
    server, url = processes.start_server(data_dir, queue)
    yield url, queue, data_dir
    server.stop(timeout=3)  # nothing to finish gracefully after a test


def _starter(panel, launch, stop_timeout):
    """A function that starts one more `launch(data_dir, queue)` process; all are stopped after."""
    _, queue, data_dir = panel
    started = []

    def start():
        started.append(launch(data_dir, queue))
        return started[-1]

    yield start
    for process in started:
        process.stop(timeout=stop_timeout)


@pytest.fixture
def start_worker(panel):
    """Call to start a job worker for the panel (stopped after the test; a test's worker has
    nothing to finish, so no long graceful stop)."""
    yield from _starter(panel, processes.start_worker, stop_timeout=3)


@pytest.fixture
def start_watcher(panel):
    """Call to start the host watcher for the panel (stopped after the test)."""
    yield from _starter(panel, processes.start_watcher, stop_timeout=10)


@pytest.fixture
def console_bridge_address(monkeypatch):
    """A free loopback port for the console bridge, in the environment of every process the
    panel fixtures start: request it before `panel`."""
    address = f"127.0.0.1:{processes.free_port()}"
    monkeypatch.setenv("VMM_CONSOLE_BRIDGE", address)
    return address


@pytest.fixture
def start_console_bridge(console_bridge_address, panel):
    """Call to start the console bridge for the panel (stopped after the test)."""
    yield from _starter(panel, processes.start_console_bridge, stop_timeout=5)


@pytest.fixture
def url_prefix(monkeypatch):
    """The panel's processes run under PREFIX (VMM_URL_PREFIX): request it before `panel`."""
    monkeypatch.setenv("VMM_URL_PREFIX", PREFIX)
    return PREFIX


@pytest.fixture
def proxied(url_prefix, panel, tmp_path):
    """The panel under PREFIX behind a throw-away nginx configured as docs/containers.md says
    (tests/browser/proxy.py): its base URL as nginx serves it, http://127.0.0.1:<port>/panel."""
    upstream = panel[0].removeprefix("http://")
    nginx, url = start_nginx(tmp_path, upstream, url_prefix)
    yield url + url_prefix
    nginx.stop(timeout=5)


@pytest.fixture(scope="module")
def browser():
    # While Playwright lives, Django sees its event loop as running in this thread and
    # would refuse the (plain synchronous) ORM calls of the tests and their fixtures.
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        chromium = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=LAUNCH_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1360, "height": 860})
    page = context.new_page()
    page.set_default_timeout(10000)
    yield page
    context.close()


@pytest.fixture
def screenshot():
    """screenshot(page, name): a full-page PNG in test-artifacts/ for reviewers."""
    ARTIFACTS.mkdir(exist_ok=True)

    def take(page, name):
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

    return take


def sign_in(page, base, username, password):
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form.form button[type=submit]")
    page.wait_for_url(f"{base}/")


@pytest.fixture
def sized_host(test_host):
    """The test host with room for a few small VMs (8 CPUs, 16 GiB, 200 GiB)."""
    test_host.cpus, test_host.memory_mb, test_host.disk_bytes = 8, 16384, 200 * 2**30
    test_host.save()
    return test_host


def order_on_the_form(page, base, name, password="Str0ng-enough-pw"):
    """Fill the order form with a name and a password (the rest as offered) and submit it."""
    page.goto(f"{base}/vms/new/")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", password)
    page.click("form.form button[type=submit].btn-primary")
