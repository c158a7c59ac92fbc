"""The account lists' filters (API and UI): users, SSH keys, API tokens, plans, quotas.
Each queryset given is already what the caller may see; ids are plain ids (one outside
the caller's scope matches nothing)."""

from apps.accounts.models import User
from apps.accounts.plans import Plan
from apps.accounts.quotas import Quota
from apps.accounts.sshkeys import SshKey
from apps.accounts.tokens import ApiToken
from apps.core.filtersets import BaseFilterSet


class UserFilterSet(BaseFilterSet):
    class Meta:
        model = User
        fields = ["role", "is_active", "reseller"]


class SshKeyFilterSet(BaseFilterSet):
    class Meta:
        model = SshKey
        fields = ["owner"]


class TokenFilterSet(BaseFilterSet):
    class Meta:
        model = ApiToken
        fields = ["read_only"]


class PlanFilterSet(BaseFilterSet):
    class Meta:
        model = Plan
        fields = ["is_active", "vcpus"]


class QuotaFilterSet(BaseFilterSet):
    class Meta:
        model = Quota
        fields = ["user"]
