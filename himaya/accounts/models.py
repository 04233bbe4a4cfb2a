from __future__ import annotations

import os

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_otp.models import Device, ThrottlingMixin, TimestampMixin
from django_otp.plugins.otp_totp.models import TOTPDevice

from himaya.core.crypto import master_key, site_cipher


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
    PERMISSION_KIND = "user"  # himaya.accounts.permissions.Kind.USER
    UNIT_PATH = "unit"

    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, null=True, blank=True, related_name="users", verbose_name=_("unit"))
    roles = models.JSONField(_("roles"), default=list, blank=True)

    # Who may do what is not decided here: himaya.accounts.permissions (the one table).

    @property
    def role_labels(self) -> list[str]:
        """The roles' names, for display (a stored value no longer in Role is left out)."""
        return [Role(r).label for r in (self.roles or []) if r in Role.values]


class Reporter(models.Model):
    """A platform's machine account on the provider API (SPEC §4.1); not a staff login."""

    PERMISSION_KIND = "reporter"  # himaya.accounts.permissions.Kind.REPORTER
    UNIT_PATH = "unit"

    username = models.CharField(_("username"), max_length=150, unique=True)
    password = models.CharField(max_length=256)
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="reporters", verbose_name=_("unit"))
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.username


class AuthFailure(models.Model):
    """Failed authentications counted per key, and the lock they lead to (SPEC §3.10).

    One row per (scope, key): an account name on the login, an address on the
    login, the API or the provider API, a provider's reporter name. Written only
    when something fails (and cleared on an unlock or, for an account, a complete
    login), so a successful request reads at most one indexed row.
    See himaya.accounts.throttle.
    """

    class Scope(models.TextChoices):
        USER = "user", _("staff account")
        ADDRESS = "address", _("address (login)")
        API_ADDRESS = "api_address", _("address (API tokens)")
        REPORTER = "reporter", _("provider account")
        PROVIDER_ADDRESS = "provider_address", _("address (provider API)")

    scope = models.CharField(max_length=20, choices=Scope.choices)
    key = models.CharField(max_length=200)
    failures = models.PositiveIntegerField(default=0)
    first_at = models.DateTimeField()
    last_at = models.DateTimeField()
    locked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scope", "key"], name="authfailure_scope_key")]
        indexes = [models.Index(fields=["locked_until"], name="authfailure_locked")]

    def __str__(self) -> str:
        return f"{self.scope}:{self.key} ({self.failures})"


class ApiToken(models.Model):
    """A personal token for /api/v1/ (SPEC §3.10). Only a SHA-256 of the token is
    kept: the token is shown once, when made. It expires, and can be revoked."""

    PERMISSION_KIND = "api_token"  # himaya.accounts.permissions.Kind.API_TOKEN, Scope.OWNER
    UNIT_PATH = "user__unit"
    OWNER_PATH = "user"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens", verbose_name=_("user"))
    name = models.CharField(_("name"), max_length=100)
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(_("begins with"), max_length=12)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires"))
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_usable(self) -> bool:
        from django.utils import timezone

        return self.revoked_at is None and self.expires_at > timezone.now()


def totp_seed_seal(*, user_id: int, seed: bytes) -> bytes:
    """A TOTP seed as stored: nonce + AES-256-GCM under the site key, bound to the user."""
    nonce = os.urandom(12)
    return nonce + site_cipher(master_key()).encrypt(nonce, seed, f"himaya-totp-seed:{user_id}".encode())


def totp_seed_unseal(*, user_id: int, sealed: bytes) -> bytes:
    return site_cipher(master_key()).decrypt(sealed[:12], sealed[12:], f"himaya-totp-seed:{user_id}".encode())


class AuthenticatorDevice(TimestampMixin, ThrottlingMixin, Device):
    """A staff member's TOTP authenticator (SPEC §3.10): django-otp's TOTPDevice with the
    seed sealed (AES-256-GCM under the site key, which lives outside the database, and
    bound to the user), so a copy of the database holds no seed and a sealed seed copied
    onto another account does not open. django-otp's own TOTP table stays empty: its seeds
    were moved here by migration 0005."""

    SEED_BYTES = 20  # django-otp's default, what authenticator apps expect

    sealed_key = models.BinaryField(editable=False)
    step = models.PositiveSmallIntegerField(default=30)
    t0 = models.BigIntegerField(default=0)
    digits = models.PositiveSmallIntegerField(choices=[(6, 6), (8, 8)], default=6)
    tolerance = models.PositiveSmallIntegerField(default=1)
    drift = models.SmallIntegerField(default=0)
    last_t = models.BigIntegerField(default=-1)

    class Meta(Device.Meta):
        verbose_name = _("authenticator")

    # django-otp's TOTP logic as it is (django_otp.oath.TOTP, replay guard, drift,
    # throttling, the otpauth:// address): it reads the seed only through bin_key.
    verify_token = TOTPDevice.verify_token
    get_throttle_factor = TOTPDevice.get_throttle_factor
    config_url = TOTPDevice.config_url
    _read_str_from_settings = TOTPDevice._read_str_from_settings

    def seed_set(self, seed: bytes) -> None:
        self.sealed_key = totp_seed_seal(user_id=self.user_id, seed=seed)

    @property
    def bin_key(self) -> bytes:
        return totp_seed_unseal(user_id=self.user_id, sealed=bytes(self.sealed_key))

    def save(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if not self.sealed_key:  # a new device gets a random seed, as django-otp's does
            self.seed_set(os.urandom(self.SEED_BYTES))
        super().save(*args, **kwargs)
