import logging

from apps.core.request_id import RequestIdLogFilter


def test_every_response_carries_a_fresh_request_id(client, db):
    first = client.get("/healthz")
    second = client.get("/healthz")
    assert first.status_code == 200
    assert len(first["X-Request-ID"]) == 32
    assert first["X-Request-ID"] != second["X-Request-ID"]


def test_a_callers_request_id_is_kept_and_a_malformed_one_replaced(client, db):
    kept = client.get("/healthz", HTTP_X_REQUEST_ID="billing-42-abcdef")
    replaced = client.get("/healthz", HTTP_X_REQUEST_ID="bad id\nwith newline")
    assert kept["X-Request-ID"] == "billing-42-abcdef"
    assert replaced["X-Request-ID"] != "bad id\nwith newline"
    assert len(replaced["X-Request-ID"]) == 32


def test_log_lines_written_during_a_request_carry_its_id(client, db):
    records = []
    handler = logging.Handler()
    handler.addFilter(RequestIdLogFilter())
    handler.emit = records.append
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    try:
        response = client.get("/no-such-page", HTTP_X_REQUEST_ID="trace-me-0002")
    finally:
        logger.removeHandler(handler)
    assert response.status_code == 404
    assert [r.request_id for r in records if "no-such-page" in r.getMessage()] == ["trace-me-0002"]


def test_the_request_id_filter_stamps_records_outside_requests():
    record = logging.LogRecord("vmmanager", logging.INFO, __file__, 1, "hello", None, None)
    RequestIdLogFilter().filter(record)
    assert record.request_id == "-"
