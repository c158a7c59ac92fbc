from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from apps.accounts.models import DirectoryAccount, User
from apps.accounts.services.two_factor import reset_two_factor


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "email", "role", "reseller", "is_active", "is_staff", "date_joined")
    list_filter = ("role", "is_active", "is_staff", "reseller")
    search_fields = ("username", "email", "first_name", "last_name")
    list_select_related = ("reseller",)
    autocomplete_fields = ("reseller",)
    fieldsets = BaseUserAdmin.fieldsets + (("Role", {"fields": ("role", "reseller")}),)
    add_fieldsets = BaseUserAdmin.add_fieldsets + (("Role", {"fields": ("role", "reseller")}),)
    actions = ["reset_two_factor"]

    @admin.action(description=_("Reset two-factor sign-in (lost phone)"))
    def reset_two_factor(self, request, queryset):
        done = 0
        for user in queryset:
            try:
                done += reset_two_factor(actor=request.user, user=user)
            except PermissionDenied as error:
                self.message_user(request, f"{user}: {error}", messages.ERROR)
        self.message_user(
            request,
            ngettext(
                "Two-factor sign-in was reset for %(n)d user.", "Two-factor sign-in was reset for %(n)d users.", done
            )
            % {"n": done},
        )


@admin.register(DirectoryAccount)
class DirectoryAccountAdmin(admin.ModelAdmin):
    """Accounts the staff directory made (LDAP for staff): read-only, the directory decides."""

    list_display = ("user", "dn", "synced_at")
    search_fields = ("user__username", "dn")
    readonly_fields = ("user", "dn", "synced_at")

    def has_add_permission(self, request):
        return False
