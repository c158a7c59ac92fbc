"""Cursor pagination: stable under inserts, no COUNT query. `page_size` from 1; more than
200 gives 200. A `page_size` that is not one whole number from 1 is refused (400 naming
it), as the schema says, instead of silently meaning the default."""

import re

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination

_WHOLE = re.compile(r"[0-9]{1,18}\Z")


class Cursor(CursorPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering = "-pk"

    def get_page_size(self, request):
        values = request.query_params.getlist(self.page_size_query_param)
        if not values:
            return self.page_size
        if len(values) > 1 or not _WHOLE.match(values[0]) or int(values[0]) < 1:
            raise ValidationError(
                {self.page_size_query_param: [f"Give one whole number from 1 (at most {self.max_page_size} are sent)."]}
            )
        return min(int(values[0]), self.max_page_size)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"]["minimum"] = 1
        return parameters
