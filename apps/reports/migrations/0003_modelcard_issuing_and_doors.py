"""Issuing as a background state, and two closed doors on the card table.

- TRUNCATE is refused on PostgreSQL (row triggers do not fire on it), as on the audit table.
- A card never supersedes itself (check constraint) nor a card of another model or profile
  (trigger: a constraint cannot read the successor row).
"""

import importlib

from django.conf import settings
from django.db import migrations, models


PG_DOORS = """
CREATE OR REPLACE FUNCTION reports_modelcard_no_truncate() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'model cards cannot be truncated: issued cards are permanent records';
END
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS reports_modelcard_no_truncate ON reports_modelcard;
CREATE TRIGGER reports_modelcard_no_truncate BEFORE TRUNCATE ON reports_modelcard
    FOR EACH STATEMENT EXECUTE FUNCTION reports_modelcard_no_truncate();

CREATE OR REPLACE FUNCTION reports_modelcard_successor() RETURNS trigger AS $$
BEGIN
    IF NEW.superseded_by_id IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM reports_modelcard s
        WHERE s.id = NEW.superseded_by_id AND s.id <> NEW.id
          AND s.model_id = NEW.model_id AND s.profile = NEW.profile
    ) THEN
        RAISE EXCEPTION 'model card % can only be superseded by another card of its model and profile', NEW.id;
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS reports_modelcard_successor ON reports_modelcard;
CREATE TRIGGER reports_modelcard_successor BEFORE INSERT OR UPDATE OF superseded_by_id
    ON reports_modelcard FOR EACH ROW EXECUTE FUNCTION reports_modelcard_successor();
"""
PG_DROP = """
DROP TRIGGER IF EXISTS reports_modelcard_no_truncate ON reports_modelcard;
DROP FUNCTION IF EXISTS reports_modelcard_no_truncate();
DROP TRIGGER IF EXISTS reports_modelcard_successor ON reports_modelcard;
DROP FUNCTION IF EXISTS reports_modelcard_successor();
"""
SQLITE_SUCCESSOR = """
CREATE TRIGGER IF NOT EXISTS reports_modelcard_successor
BEFORE UPDATE OF superseded_by_id ON reports_modelcard
WHEN NEW.superseded_by_id IS NOT NULL AND NOT EXISTS (
    SELECT 1 FROM reports_modelcard s WHERE s.id = NEW.superseded_by_id AND s.id <> NEW.id
    AND s.model_id = NEW.model_id AND s.profile = NEW.profile
)
BEGIN
    SELECT RAISE(ABORT, 'a card can only be superseded by another card of its model and profile');
END;
"""


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_DOORS, params=None)
    elif vendor == "sqlite":
        # Adding the constraint rebuilt the SQLite table, which drops its triggers: the
        # frozen-card triggers of 0002 are created again with the new one.
        frozen = importlib.import_module("apps.reports.migrations.0002_modelcard_immutable")
        schema_editor.execute(frozen.SQLITE_UPDATE)
        schema_editor.execute(frozen.SQLITE_DELETE)
        schema_editor.execute(SQLITE_SUCCESSOR)


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_DROP, params=None)
    elif vendor == "sqlite":
        schema_editor.execute("DROP TRIGGER IF EXISTS reports_modelcard_successor")


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0001_initial'),
        ('registry', '0001_initial'),
        ('reports', '0002_modelcard_immutable'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name='modelcard',
            name='status',
            field=models.CharField(choices=[('rendering', 'Rendering'), ('draft', 'Draft'), ('issuing', 'Issuing'), ('issued', 'Issued'), ('superseded', 'Superseded'), ('failed', 'Failed')], default='rendering', max_length=16),
        ),
        migrations.AddConstraint(
            model_name='modelcard',
            constraint=models.CheckConstraint(condition=models.Q(('superseded_by', models.F('id')), _negated=True), name='modelcard_not_superseded_by_itself'),
        ),
        migrations.RunPython(forwards, backwards),
    ]
