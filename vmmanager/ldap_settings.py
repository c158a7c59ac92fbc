"""django-auth-ldap's settings from the panel's few LDAP variables (docs/configuration.md).

A function, so that the tests build the same settings for their own slapd."""

from django.core.exceptions import ImproperlyConfigured


def ldap_settings(*, uri, bind_dn, bind_password, user_base, user_filter, staff_group, start_tls, timeout):
    """The AUTH_LDAP_* settings (and VMM_LDAP_URI / VMM_LDAP_STAFF_GROUP) as a dict; with no
    `uri`, only VMM_LDAP_URI = None: the directory backend then does nothing."""
    if not uri:
        return {"VMM_LDAP_URI": None, "VMM_LDAP_STAFF_GROUP": None}
    if not (user_base and staff_group):
        raise ImproperlyConfigured("VMM_LDAP_URI needs VMM_LDAP_USER_BASE and VMM_LDAP_STAFF_GROUP.")
    import ldap
    from django_auth_ldap.config import GroupOfNamesType, LDAPSearch

    return {
        "VMM_LDAP_URI": uri,
        "VMM_LDAP_STAFF_GROUP": staff_group,
        "AUTH_LDAP_SERVER_URI": uri,
        "AUTH_LDAP_BIND_DN": bind_dn,
        "AUTH_LDAP_BIND_PASSWORD": bind_password,
        "AUTH_LDAP_START_TLS": start_tls,
        "AUTH_LDAP_USER_SEARCH": LDAPSearch(user_base, ldap.SCOPE_SUBTREE, user_filter),
        # Membership is asked of the staff group itself (groupOfNames / member).
        "AUTH_LDAP_GROUP_SEARCH": LDAPSearch(staff_group, ldap.SCOPE_BASE, "(objectClass=groupOfNames)"),
        "AUTH_LDAP_GROUP_TYPE": GroupOfNamesType(),
        "AUTH_LDAP_USER_ATTR_MAP": {"first_name": "givenName", "last_name": "sn", "email": "mail"},
        "AUTH_LDAP_ALWAYS_UPDATE_USER": True,
        "AUTH_LDAP_CACHE_TIMEOUT": 0,
        "AUTH_LDAP_CONNECTION_OPTIONS": {
            ldap.OPT_NETWORK_TIMEOUT: timeout,
            ldap.OPT_TIMEOUT: timeout,
            ldap.OPT_REFERRALS: 0,
        },
    }
