"""API tokens get a holder (existing tokens: their creator, who they acted for until now);
service accounts are named non-persons that hold tokens."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def holder_is_creator(apps, schema_editor):
    ApiToken = apps.get_model("accounts", "ApiToken")
    for token in ApiToken.objects.all().only("pk", "created_by_id"):
        ApiToken.objects.filter(pk=token.pk).update(holder_id=token.created_by_id)


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0003_vocabulary_constraints'),
    ]

    operations = [
        migrations.AddField(
            model_name='apitoken',
            name='holder',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name='held_api_tokens', to=settings.AUTH_USER_MODEL),
        ),
        migrations.RunPython(holder_is_creator, migrations.RunPython.noop),
        migrations.AlterField(
            model_name='apitoken',
            name='holder',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='held_api_tokens', to=settings.AUTH_USER_MODEL),
        ),
        migrations.CreateModel(
            name='ServiceAccount',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=100)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('created_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('organization', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='service_accounts', to='accounts.organization')),
                ('user', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='service_account', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['organization_id', 'name'],
                'constraints': [models.UniqueConstraint(fields=('organization', 'name'), name='serviceaccount_org_name_unique')],
            },
        ),
    ]
