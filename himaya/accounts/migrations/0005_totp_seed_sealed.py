"""TOTP seeds were stored in clear in django-otp's otp_totp_totpdevice.key: move every
device to accounts.AuthenticatorDevice with the seed sealed under the site key
(himaya.accounts.models.totp_seed_seal), same counters and throttling, and delete the
plain rows, so enrolled users keep their authenticator and the database holds no seed.
Sessions verified with a moved device verify again at their next page."""
import binascii

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


COPIED = ["name", "confirmed", "throttling_failure_timestamp", "throttling_failure_count", "last_used_at",
          "step", "t0", "digits", "tolerance", "drift", "last_t"]


def seal_plain_seeds(apps, schema_editor):
    from himaya.accounts.models import totp_seed_seal

    TOTPDevice = apps.get_model("otp_totp", "TOTPDevice")
    AuthenticatorDevice = apps.get_model("accounts", "AuthenticatorDevice")
    for plain in TOTPDevice.objects.order_by("pk").iterator():
        sealed = AuthenticatorDevice.objects.create(
            user_id=plain.user_id, sealed_key=totp_seed_seal(user_id=plain.user_id, seed=binascii.unhexlify(plain.key)),
            **{f: getattr(plain, f) for f in COPIED})
        AuthenticatorDevice.objects.filter(pk=sealed.pk).update(created_at=plain.created_at)  # not auto_now_add's now
    TOTPDevice.objects.all().delete()


def unseal_seeds(apps, schema_editor):
    from himaya.accounts.models import totp_seed_unseal

    TOTPDevice = apps.get_model("otp_totp", "TOTPDevice")
    AuthenticatorDevice = apps.get_model("accounts", "AuthenticatorDevice")
    for sealed in AuthenticatorDevice.objects.order_by("pk").iterator():
        seed = totp_seed_unseal(user_id=sealed.user_id, sealed=bytes(sealed.sealed_key))
        plain = TOTPDevice.objects.create(user_id=sealed.user_id, key=binascii.hexlify(seed).decode(),
                                          **{f: getattr(sealed, f) for f in COPIED})
        TOTPDevice.objects.filter(pk=plain.pk).update(created_at=sealed.created_at)


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0004_recovery_codes_digested'),
        ('otp_totp', '0003_add_timestamps'),
    ]

    operations = [
        migrations.CreateModel(
            name='AuthenticatorDevice',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(help_text='The human-readable name of this device.', max_length=64)),
                ('confirmed', models.BooleanField(default=True, help_text='Is this device ready for use?')),
                ('throttling_failure_timestamp', models.DateTimeField(blank=True, default=None, help_text='A timestamp of the last failed verification attempt. Null if last attempt succeeded.', null=True)),
                ('throttling_failure_count', models.PositiveIntegerField(default=0, help_text='Number of successive failed attempts.')),
                ('created_at', models.DateTimeField(auto_now_add=True, help_text='The date and time when this device was initially created in the system.', null=True)),
                ('last_used_at', models.DateTimeField(blank=True, help_text='The most recent date and time this device was used.', null=True)),
                ('sealed_key', models.BinaryField()),
                ('step', models.PositiveSmallIntegerField(default=30)),
                ('t0', models.BigIntegerField(default=0)),
                ('digits', models.PositiveSmallIntegerField(choices=[(6, 6), (8, 8)], default=6)),
                ('tolerance', models.PositiveSmallIntegerField(default=1)),
                ('drift', models.SmallIntegerField(default=0)),
                ('last_t', models.BigIntegerField(default=-1)),
                ('user', models.ForeignKey(help_text='The user that this device belongs to.', on_delete=django.db.models.deletion.CASCADE, to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'authenticator',
                'abstract': False,
            },
        ),
        migrations.RunPython(seal_plain_seeds, unseal_seeds),
    ]
