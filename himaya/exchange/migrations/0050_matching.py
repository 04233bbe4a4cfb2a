"""Identifier matching without disclosure (issue 17, item 4): match sessions with
partner units and the identifiers found on both sides."""
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0003_auth_security'),
        ('exchange', '0001_initial'),
    ]

    operations = [
        migrations.CreateModel(
            name='MatchSession',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('side', models.CharField(choices=[('caller', 'We called the partner'), ('server', 'The partner called us')], max_length=10)),
                ('started_at', models.DateTimeField(verbose_name='started')),
                ('finished_at', models.DateTimeField(verbose_name='finished')),
                ('offered', models.PositiveIntegerField(verbose_name='identifiers offered')),
                ('partner_offered', models.PositiveIntegerField(verbose_name='identifiers the partner offered')),
                ('matched', models.PositiveIntegerField(verbose_name='identifiers both hold')),
                ('partner_matched', models.PositiveIntegerField(default=0)),
                ('kinds', models.JSONField(default=list)),
                ('unit', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='accounts.unit')),
                ('partner', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='match_sessions', to='exchange.partner', verbose_name='partner unit')),
            ],
            options={
                'ordering': ['-finished_at', '-id'],
            },
        ),
        migrations.CreateModel(
            name='PartnerMatch',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(max_length=20, verbose_name='kind')),
                ('key', models.CharField(max_length=255)),
                ('display', models.CharField(max_length=300, verbose_name='identifier')),
                ('matched_at', models.DateTimeField(verbose_name='matched')),
                ('partner', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='matches', to='exchange.partner', verbose_name='partner unit')),
                ('session', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='matches', to='exchange.matchsession')),
                ('unit', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='accounts.unit')),
            ],
            options={
                'ordering': ['-matched_at', 'id'],
            },
        ),
        migrations.AddIndex(
            model_name='partnermatch',
            index=models.Index(fields=['unit', 'key'], name='exchange_match_key'),
        ),
        migrations.AddConstraint(
            model_name='partnermatch',
            constraint=models.UniqueConstraint(fields=('session', 'key'), name='exchange_match_unique'),
        ),
    ]
