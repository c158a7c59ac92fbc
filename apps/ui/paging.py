from django.core.paginator import Paginator
from django.utils.functional import cached_property

PER_PAGE = 25
# How many pages past the one shown a list counts its rows for: a page never counts a whole
# table of 100,000 VMs (docs/api.md, "Performance"), and "Next" is always there while more rows are.
PAGES_AHEAD = 10


class CappedPaginator(Paginator):
    """A Paginator whose count stops at `PAGES_AHEAD` pages past page `number`
    (`SELECT count(*) FROM (... LIMIT n)`): its cost follows the page asked for, not the
    table. `capped`: there are more rows than counted; `count` and `num_pages` then say
    "more than" (the templates show them so)."""

    def __init__(self, object_list, per_page, number):
        super().__init__(object_list, per_page)
        self.limit = (number + PAGES_AHEAD) * per_page + 1

    @cached_property
    def _counted(self):
        return self.object_list[: self.limit].count()

    @property
    def count(self):
        return min(self._counted, self.limit - 1)

    @property
    def capped(self):
        return self._counted >= self.limit


def _page_number(value):
    try:
        return max(1, min(int(value), 10**9))
    except (TypeError, ValueError):
        return 1


def paginate(request, queryset, per_page=PER_PAGE):
    """(page, querystring without `page`) for `queryset`: two queries, a count (capped,
    CappedPaginator) and the rows. A page number out of range shows the last page."""
    number = request.GET.get("page")
    page = CappedPaginator(queryset, per_page, _page_number(number)).get_page(number)
    params = request.GET.copy()
    params.pop("page", None)
    return page, params.urlencode()
