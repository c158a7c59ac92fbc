"""The request id: set once per HTTP request, console command or job, then followed
through every log line of the web process, the worker and the hypervisor calls."""

import contextvars
import re
import uuid
from contextlib import contextmanager

_current = contextvars.ContextVar("vmm_request_id", default="-")
_VALID = re.compile(r"^[A-Za-z0-9._:-]{8,64}\Z")


def new_request_id():
    return uuid.uuid4().hex


def clean_request_id(value):
    """Return `value` if it is an acceptable incoming id, else a fresh one."""
    if value and _VALID.match(value):
        return value
    return new_request_id()


def get_request_id():
    return _current.get()


def set_request_id(value):
    return _current.set(value)


def reset_request_id(token):
    _current.reset(token)


@contextmanager
def request_id_context(value):
    token = _current.set(value)
    try:
        yield value
    finally:
        _current.reset(token)


class RequestIdLogFilter:
    """logging filter: put the current request id on every record as `request_id`."""

    def filter(self, record):
        if not hasattr(record, "request_id"):
            record.request_id = _current.get()
        return True
