from apps.core.request_id import clean_request_id, set_request_id

HEADER = "X-Request-ID"


class RequestIdMiddleware:
    """Give every request an id (the caller's X-Request-ID if well-formed), expose it as
    `request.request_id`, log under it and echo it in the response header.

    The id is not reset when the middleware returns: Django logs 4xx/5xx responses after
    the middleware chain, and those lines need it too. It is cleared when the request
    finishes (apps.core.signals)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = clean_request_id(request.headers.get(HEADER))
        request.request_id = request_id
        set_request_id(request_id)
        response = self.get_response(request)
        response[HEADER] = request_id
        return response
