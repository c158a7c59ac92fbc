from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    ADMIN = "admin", _("Administrator")
    RESELLER = "reseller", _("Reseller")
    CUSTOMER = "customer", _("Customer")


class SuspendMode(models.TextChoices):
    """How a suspension for non-payment takes a customer's VMs down (docs/billing.md)."""

    STOP = "stop", _("Shut down (graceful, then forced)")
    PAUSE = "pause", _("Pause (memory kept)")


class User(AbstractUser):
    """A person or a billing system using the panel.

    `is_active` is the blocked flag: a blocked user (or a customer of a blocked
    reseller) is refused at the next request.
    """

    role = models.CharField(max_length=16, choices=Role.choices, default=Role.CUSTOMER, db_index=True)
    reseller = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="customers",
        limit_choices_to={"role": Role.RESELLER},
        help_text="The reseller who owns this customer; empty for the provider's own customers.",
    )
    # Billing (docs/billing.md): a suspended customer keeps its logins but its VMs are down
    # and it cannot bring them back. `suspend_mode` is a reseller's choice for its customers.
    suspended_at = models.DateTimeField(null=True, blank=True, db_index=True)
    suspension_reason = models.CharField(max_length=500, blank=True)
    suspend_mode = models.CharField(max_length=8, choices=SuspendMode.choices, blank=True)
    terminate_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # E-mail notices (apps/notices): in this language (empty: the panel's default); the
    # optional ones (VM ready, password reset) only while `email_notices` is on.
    language = models.CharField(max_length=8, choices=[("en", "English"), ("ru", "Русский")], blank=True)
    email_notices = models.BooleanField(default=True)

    class Meta:
        ordering = ["username"]
        constraints = [
            models.CheckConstraint(
                condition=Q(reseller__isnull=True) | Q(role=Role.CUSTOMER),
                name="user_only_customers_have_reseller",
            ),
        ]

    @property
    def is_admin(self):
        return self.role == Role.ADMIN or self.is_superuser

    @property
    def owner(self):
        """A user account belongs to itself (jobs on a user are shown to it and its reseller)."""
        return self

    @property
    def is_blocked(self):
        """Blocked itself, or a customer whose reseller is blocked."""
        if not self.is_active:
            return True
        return self.reseller_id is not None and not self.reseller.is_active

    def clean(self):
        super().clean()
        if self.reseller_id is not None:
            if self.role != Role.CUSTOMER:
                raise ValidationError({"reseller": "Only customers belong to a reseller."})
            if self.reseller.role != Role.RESELLER:
                raise ValidationError({"reseller": "The owner must have the reseller role."})


# Models kept in modules of their own; imported here so Django registers them.
from apps.accounts.directory_accounts import DirectoryAccount  # noqa: E402, F401
from apps.accounts.plans import Plan  # noqa: E402, F401
from apps.accounts.quotas import Quota  # noqa: E402, F401
from apps.accounts.sshkeys import SshKey  # noqa: E402, F401
from apps.accounts.tokens import ApiToken  # noqa: E402, F401
