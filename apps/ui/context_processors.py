from apps.accounts.tenancy import is_staff_user


def ui(request):
    """`is_staff_ui`: the signed-in user is the provider's staff (sees hosts, all tenants)."""
    user = getattr(request, "user", None)
    return {"is_staff_ui": is_staff_user(user)}
