from django.urls import path
from django.views.i18n import set_language

from apps.ui.views import auth, dashboard, hosts, images, jobs, vm_changes, vm_console, vms

app_name = "ui"

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("login/", auth.LoginView.as_view(), name="login"),
    path("logout/", auth.LogoutView.as_view(), name="logout"),
    path("password/", auth.PasswordChangeView.as_view(), name="password_change"),
    path("language/", set_language, name="set_language"),
    path("hosts/", hosts.host_list, name="host_list"),
    path("hosts/add/", hosts.host_add, name="host_add"),
    path("hosts/<int:pk>/", hosts.host_detail, name="host_detail"),
    path("hosts/<int:pk>/edit/", hosts.host_edit, name="host_edit"),
    path("hosts/<int:pk>/refresh/", hosts.host_refresh, name="host_refresh"),
    path("images/", images.image_list, name="image_list"),
    path("images/import/", images.image_import, name="image_import"),
    path("images/upload/", images.image_upload, name="image_upload"),
    path("images/<int:pk>/", images.image_detail, name="image_detail"),
    path("images/<int:pk>/delete/", images.image_delete, name="image_delete"),
    path("vms/", vms.vm_list, name="vm_list"),
    path("vms/new/", vms.vm_create, name="vm_create"),
    path("vms/<int:pk>/", vms.vm_detail, name="vm_detail"),
    path("vms/<int:pk>/jobs/", vms.vm_jobs, name="vm_jobs"),
    path("vms/<int:pk>/power/<slug:action>/", vm_changes.vm_power, name="vm_power"),
    path("vms/<int:pk>/reinstall/", vm_changes.vm_reinstall, name="vm_reinstall"),
    path("vms/<int:pk>/password/", vm_changes.vm_password, name="vm_password"),
    path("vms/<int:pk>/resize/", vm_changes.vm_resize, name="vm_resize"),
    path("vms/<int:pk>/delete/", vm_changes.vm_delete, name="vm_delete"),
    path("vms/<int:pk>/console/", vm_console.vm_console, name="vm_console"),
    path("vms/<int:pk>/console/ticket/", vm_console.vm_console_ticket, name="vm_console_ticket"),
    path("vms/<int:pk>/image/", vm_changes.vm_make_image, name="vm_make_image"),
    path("jobs/", jobs.job_list, name="job_list"),
    path("jobs/<uuid:pk>/", jobs.job_detail, name="job_detail"),
]
