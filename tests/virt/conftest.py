"""Fixtures of the hypervisor-driver tests. No database: these talk to libvirt only."""

import gc

import pytest

from apps.virt import connection


def pytest_configure(config):
    # Also declared in pyproject.toml; repeating it keeps this folder runnable on its own.
    config.addinivalue_line("markers", "libvirt: needs the real local libvirtd with QEMU (TCG guests); slow")


@pytest.fixture(autouse=True)
def fresh_connections():
    """Every test starts and ends with no cached connection.

    Closing the last connection to a test:/// URI drops that driver's state,
    so each test sees the pristine test:///default host. Domain and pool
    handles also hold the connection, and tracebacks (pytest.raises) keep
    them alive in reference cycles: collect them first.
    """
    connection.close_all()
    yield
    if connection._conns:  # a full collection costs ~50 ms with Django loaded: only when needed
        gc.collect()
    connection.close_all()
