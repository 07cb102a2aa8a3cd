"""Comparison reports (alignment evidence): frozen at creation, in the model and in the database.

PostgreSQL refuses any UPDATE or DELETE of a row (the files are signed and cards cite their
digests); SQLite the same with two triggers.
"""

import uuid

import django.core.serializers.json
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION reports_comparisonreport_frozen() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'comparison report % is frozen and cannot be changed or deleted', OLD.id;
END
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS reports_comparisonreport_frozen ON reports_comparisonreport;
CREATE TRIGGER reports_comparisonreport_frozen BEFORE UPDATE OR DELETE
    ON reports_comparisonreport FOR EACH ROW EXECUTE FUNCTION reports_comparisonreport_frozen();
"""
PG_DROP = """
DROP TRIGGER IF EXISTS reports_comparisonreport_frozen ON reports_comparisonreport;
DROP FUNCTION IF EXISTS reports_comparisonreport_frozen();
"""
SQLITE = [
    f"""CREATE TRIGGER IF NOT EXISTS reports_comparisonreport_frozen_{op.lower()}
BEFORE {op} ON reports_comparisonreport
BEGIN
    SELECT RAISE(ABORT, 'comparison report is frozen');
END;"""
    for op in ("UPDATE", "DELETE")
]


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_FUNCTION, params=None)
    elif vendor == "sqlite":
        for statement in SQLITE:
            schema_editor.execute(statement)


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_DROP, params=None)
    elif vendor == "sqlite":
        for op in ("update", "delete"):
            schema_editor.execute(f"DROP TRIGGER IF EXISTS reports_comparisonreport_frozen_{op}")


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0004_token_holder_service_account"),
        ("evaluations", "0005_org_leading_list_indexes"),
        ("registry", "0005_datasetversion_preference_format"),
        ("reports", "0004_org_leading_list_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="ComparisonReport",
            fields=[
                ("id", models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ("kind", models.CharField(choices=[("version_comparison", "Paired version comparison"), ("reasoning_study", "Reasoning-mode study")], max_length=24)),
                ("summary", models.TextField()),
                ("document", models.JSONField(encoder=django.core.serializers.json.DjangoJSONEncoder)),
                ("pdf_sha256", models.CharField(max_length=64)),
                ("json_sha256", models.CharField(max_length=64)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("baseline_version", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+", to="registry.modelversion")),
                ("created_by", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+", to=settings.AUTH_USER_MODEL)),
                ("created_by_token", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to="accounts.apitoken")),
                ("model", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="comparison_reports", to="registry.aimodel")),
                ("model_version", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="comparison_reports", to="registry.modelversion")),
                ("organization", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="comparison_reports", to="accounts.organization")),
                ("suite", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="comparison_reports", to="evaluations.evaluationsuite")),
            ],
            options={
                "ordering": ["-created_at"],
                "indexes": [
                    models.Index(fields=["organization", "-created_at"], name="cmpreport_org_created"),
                    models.Index(fields=["pdf_sha256"], name="cmpreport_pdf_sha256"),
                    models.Index(fields=["json_sha256"], name="cmpreport_json_sha256"),
                    models.Index(fields=["model_version", "kind", "-created_at"], name="cmpreport_cited"),
                ],
                "constraints": [
                    models.CheckConstraint(condition=models.Q(models.Q(("pdf_sha256", ""), _negated=True), models.Q(("json_sha256", ""), _negated=True)), name="cmpreport_has_files"),
                ],
            },
        ),
        migrations.RunPython(forwards, backwards),
    ]
