"""Recovery codes stored before this migration were django-otp's plain 8-character
tokens: replace each by its keyed digest (himaya.accounts.second_factor.recovery_digest),
so the codes users already printed keep working and the database no longer holds them."""
from django.db import migrations


def digest_plain_codes(apps, schema_editor):
    from himaya.accounts.second_factor import recovery_digest

    StaticToken = apps.get_model("otp_static", "StaticToken")
    for token in StaticToken.objects.select_related("device").iterator():
        if len(token.token) < 16:  # a plain code (digests are 16 characters)
            token.token = recovery_digest(user_id=token.device.user_id, code=token.token)
            token.save(update_fields=["token"])


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_auth_security"),
        ("otp_static", "0003_add_timestamps"),
    ]

    operations = [migrations.RunPython(digest_plain_codes, migrations.RunPython.noop)]
