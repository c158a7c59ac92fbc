"""Plain views of the API outside the resources."""

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt
def not_found(request, *args, **kwargs):
    """Any unknown /api/v1/ path: 404 in the API's error format (not Django's HTML page)."""
    body = {"errors": [{"field": None, "code": "not_found", "message": "No such API endpoint."}]}
    return JsonResponse(body, status=404)
