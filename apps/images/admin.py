from django.contrib import admin

from apps.images.models import Image, ImageCopy


class ImageCopyInline(admin.TabularInline):
    model = ImageCopy
    extra = 0
    readonly_fields = ("host", "volume", "path", "status", "verified_at", "created_at")
    can_delete = False


@admin.register(Image)
class ImageAdmin(admin.ModelAdmin):
    list_display = ("name", "os_family", "os_version", "format", "visibility", "owner", "status", "virtual_size_gb")
    list_filter = ("status", "visibility", "os_family", "format", "guest_config")
    search_fields = ("name", "os_version", "owner__username")
    list_select_related = ("owner",)
    autocomplete_fields = ("owner",)
    filter_horizontal = ("shared_with",)
    readonly_fields = ("virtual_size_bytes", "file_size_bytes", "checksum_sha256", "created_at", "updated_at")
    inlines = [ImageCopyInline]
