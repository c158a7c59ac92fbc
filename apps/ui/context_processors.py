from apps.accounts.tenancy import is_staff_user, sees_other_users


def ui(request):
    """`is_staff_ui`: the signed-in user is the provider's staff (sees hosts, all tenants)."""
    user = getattr(request, "user", None)
    return {
        "is_staff_ui": is_staff_user(user),
        # Staff and resellers: people with customers (webhooks, suspension).
        "has_customers_ui": bool(user is not None and user.is_authenticated and sees_other_users(user)),
    }
