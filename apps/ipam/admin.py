from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from apps.ipam import host_networks, pools
from apps.ipam.models import Address, Network, Pool


@admin.register(Network)
class NetworkAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "libvirt_network", "bridge")
    search_fields = ("name", "libvirt_network", "bridge")
    filter_horizontal = ("hosts",)

    def save_related(self, request, form, formsets, change):
        """A host attached to the network here is made to carry it (the host_network_setup job)."""
        network = form.instance
        before = set(network.hosts.values_list("pk", flat=True)) if change else set()
        super().save_related(request, form, formsets, change)
        attached = set(network.hosts.values_list("pk", flat=True)) - before
        jobs = host_networks.set_up_where_attached(request.user, network, attached) if attached else []
        if jobs:
            names = ", ".join(job.target_repr for job in jobs)
            self.message_user(request, f"Setting {network.name} up on {names} (host_network_setup jobs).")


class PoolAddForm(forms.ModelForm):
    """A new pool: checked and made (with its address rows) by apps.ipam.pools.create_pool."""

    dns_text = forms.CharField(label="DNS servers", required=False, help_text="Separated by spaces or commas.")
    ranges_text = forms.CharField(
        label="Ranges",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One 'first-last' per line; empty: the whole subnet.",
    )

    class Meta:
        model = Pool
        fields = ["network", "name", "subnet", "gateway", "ipv6_mode"]

    def clean(self):
        data = super().clean()
        data["dns_servers"] = [d for d in (data.get("dns_text") or "").replace(",", " ").split() if d]
        data["ranges"] = [
            [part.strip() for part in line.split("-", 1)] if "-" in line else [line.strip(), line.strip()]
            for line in (data.get("ranges_text") or "").splitlines()
            if line.strip()
        ]
        try:
            pools.check_pool(
                network=data.get("network"),
                name=data.get("name"),
                subnet=data.get("subnet"),
                gateway=data.get("gateway"),
                dns_servers=data["dns_servers"],
                ranges=data["ranges"],
                ipv6_mode=data.get("ipv6_mode"),
            )
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                name = {"dns_servers": "dns_text", "ranges": "ranges_text"}.get(field, field)
                self.add_error(name if name in self.fields else None, messages)
        return data


@admin.register(Pool)
class PoolAdmin(admin.ModelAdmin):
    list_display = ("name", "network", "subnet", "gateway", "ipv6_mode")
    list_filter = ("network",)
    search_fields = ("name", "subnet")

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = PoolAddForm
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        # What the address rows were made from cannot change under them.
        return ("network", "subnet", "ranges", "ipv6_mode", "created_at") if obj else ()

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["network", "name", "subnet", "gateway", "dns_text", "ranges_text", "ipv6_mode"]
        return ["network", "name", "subnet", "gateway", "dns_servers", "ranges", "ipv6_mode", "created_at"]

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        data = form.cleaned_data
        created = pools.create_pool(
            network=data["network"],
            name=data["name"],
            subnet=data["subnet"],
            gateway=data.get("gateway"),
            dns_servers=data["dns_servers"],
            ranges=data["ranges"],
            ipv6_mode=data["ipv6_mode"],
        )
        obj.pk = created.pk

    def save_related(self, request, form, formsets, change):
        if change:
            super().save_related(request, form, formsets, change)


@admin.register(Address)
class AddressAdmin(admin.ModelAdmin):
    list_display = ("address", "prefixlen", "pool", "vm", "reserved", "released_at", "reverse_name")
    list_filter = ("pool", "reserved")
    search_fields = ("address", "reverse_name", "vm__name")
    raw_id_fields = ("vm",)
    readonly_fields = ("pool", "position", "address", "prefixlen", "assigned_at")
    list_select_related = ("pool", "vm")
