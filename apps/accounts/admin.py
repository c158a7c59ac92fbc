from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from apps.accounts.models import User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "email", "role", "reseller", "is_active", "is_staff", "date_joined")
    list_filter = ("role", "is_active", "is_staff", "reseller")
    search_fields = ("username", "email", "first_name", "last_name")
    list_select_related = ("reseller",)
    autocomplete_fields = ("reseller",)
    fieldsets = BaseUserAdmin.fieldsets + (("Role", {"fields": ("role", "reseller")}),)
    add_fieldsets = BaseUserAdmin.add_fieldsets + (("Role", {"fields": ("role", "reseller")}),)
