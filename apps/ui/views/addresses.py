"""Public addresses: the list (search by address; staff also see the pools with their
usage) and the reverse DNS name of one address. Changes go through apps.ipam.reverse_dns,
as the API's do."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from apps.ipam import selectors
from apps.ipam.pools import usage
from apps.ipam.reverse_dns import set_reverse_name
from apps.ui.access import signed_in
from apps.ui.forms.addresses import ReverseNameForm
from apps.ui.forms.vms import apply_errors
from apps.ui.paging import paginate


@signed_in
def address_list(request):
    query = (request.GET.get("q") or "").replace("\x00", "")[:64]
    rows = selectors.search(selectors.visible_addresses(request.user), query).order_by("pool__name", "position")
    page, params = paginate(request, rows, per_page=100)
    pools = [(pool, usage(pool)) for pool in selectors.visible_pools(request.user).order_by("name")]
    return render(request, "ui/addresses/list.html", {"page": page, "query": params, "q": query, "pools": pools})


@signed_in
def address_reverse(request, pk):
    """Set an address's reverse DNS name; the VM's page opens after."""
    row = selectors.visible_addresses(request.user).filter(pk=pk, vm__isnull=False).first()
    if row is None:
        raise Http404
    form = ReverseNameForm(request.POST or None, initial={"reverse_name": row.reverse_name})
    if request.method == "POST" and form.is_valid():
        try:
            set_reverse_name(row, form.cleaned_data["reverse_name"], actor=request.user)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Reverse DNS name of %(address)s saved.") % {"address": row.address})
            return redirect("ui:vm_detail", row.vm_id)
    return render(request, "ui/addresses/reverse.html", {"row": row, "form": form})
