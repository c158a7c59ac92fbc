from django.core.paginator import Paginator

PER_PAGE = 25


def paginate(request, queryset, per_page=PER_PAGE):
    """(page, querystring without `page`) for `queryset`: two queries, a count and the rows.
    A page number out of range shows the last page."""
    page = Paginator(queryset, per_page).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    return page, params.urlencode()
