from django.urls import get_script_prefix

from apps.accounts.tenancy import is_staff_user, sees_other_users


def ui(request):
    """`is_staff_ui`: the signed-in user is the provider's staff (sees hosts, all tenants);
    `sees_users_ui`: it sees other users (staff, resellers: the users pages); `script_prefix_ui`:
    "/" or VMM_URL_PREFIX + "/", where the live websocket's path starts."""
    user = getattr(request, "user", None)
    sees_users = bool(user is not None and user.is_authenticated and sees_other_users(user))
    # Staff and resellers: people with customers (users pages, webhooks, suspension).
    return {
        "is_staff_ui": is_staff_user(user),
        "sees_users_ui": sees_users,
        "has_customers_ui": sees_users,
        "script_prefix_ui": get_script_prefix(),
    }
