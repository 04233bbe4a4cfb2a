from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    INTAKE_ANALYST = "intake_analyst", _("Intake analyst")
    INVESTIGATOR = "investigator", _("Investigator")
    PROSECUTOR = "prosecutor", _("Prosecutor")
    CHILD_PROTECTION = "child_protection", _("Child-protection officer")
    SUPERVISOR = "supervisor", _("Supervisor")
    AUDITOR = "auditor", _("Auditor")


class Unit(models.Model):
    code = models.SlugField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=200)
    country = models.CharField(_("country"), max_length=2, default="PS")
    is_intake = models.BooleanField(_("receives provider reports by default"), default=False)
    # The unit whose supervisors keep what every unit shares: the hash lists and the
    # triage rule set (himaya.accounts.permissions, Scope.NATIONAL).
    is_national = models.BooleanField(_("keeps the national hash lists and triage rules"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("unit")

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, null=True, blank=True, related_name="users", verbose_name=_("unit"))
    roles = models.JSONField(_("roles"), default=list, blank=True)

    def has_role(self, *roles: str) -> bool:
        return self.is_superuser or any(r in self.roles for r in roles)

    def may_triage(self) -> bool:
        """Who changes what the unit works on first: tiers, reviews, and which
        linked reports are one person (triage overrides, link separations)."""
        return self.has_role(Role.INTAKE_ANALYST, Role.SUPERVISOR)


class Reporter(models.Model):
    """A platform's machine account on the provider API (SPEC §4.1); not a staff login."""

    username = models.CharField(_("username"), max_length=150, unique=True)
    password = models.CharField(max_length=256)
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="reporters", verbose_name=_("unit"))
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.username
