"""Issued model cards are immutable in the database itself, not only in the services.

On an issued or superseded row every column is frozen, except the one move the supersede
service makes: issued -> superseded, setting superseded_by and superseded_at. Deleting such a
row is refused. PostgreSQL compares whole rows (to_jsonb), so columns added later are frozen
too; SQLite lists the columns.
"""

from django.db import migrations

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION reports_modelcard_frozen() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.status IN ('issued', 'superseded') THEN
            RAISE EXCEPTION 'model card % is issued and cannot be deleted', OLD.id;
        END IF;
        RETURN OLD;
    END IF;
    IF OLD.status IN ('issued', 'superseded') AND (
        (to_jsonb(NEW) - 'status' - 'superseded_by_id' - 'superseded_at')
            IS DISTINCT FROM (to_jsonb(OLD) - 'status' - 'superseded_by_id' - 'superseded_at')
        OR (OLD.status = 'superseded' AND (
            NEW.status <> 'superseded'
            OR NEW.superseded_by_id IS DISTINCT FROM OLD.superseded_by_id
            OR NEW.superseded_at IS DISTINCT FROM OLD.superseded_at))
        OR (OLD.status = 'issued' AND NEW.status = 'issued' AND (
            NEW.superseded_by_id IS NOT NULL OR NEW.superseded_at IS NOT NULL))
        OR (OLD.status = 'issued' AND NEW.status NOT IN ('issued', 'superseded'))
    ) THEN
        RAISE EXCEPTION 'model card % is issued and cannot be changed', OLD.id;
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS reports_modelcard_frozen ON reports_modelcard;
CREATE TRIGGER reports_modelcard_frozen BEFORE UPDATE OR DELETE ON reports_modelcard
    FOR EACH ROW EXECUTE FUNCTION reports_modelcard_frozen();
"""
PG_DROP = """
DROP TRIGGER IF EXISTS reports_modelcard_frozen ON reports_modelcard;
DROP FUNCTION IF EXISTS reports_modelcard_frozen();
"""

FROZEN_COLUMNS = (
    "id organization_id model_id model_version_id profile version progress generation document "
    "completeness pdf_sha256 json_sha256 xml_sha256 md_sha256 error created_at created_by_id "
    "created_by_token_id rendered_at issued_at issued_by_id"
).split()
SAME = " AND ".join(f"NEW.{c} IS OLD.{c}" for c in FROZEN_COLUMNS)
SQLITE_UPDATE = f"""
CREATE TRIGGER IF NOT EXISTS reports_modelcard_frozen_update
BEFORE UPDATE ON reports_modelcard
WHEN OLD.status IN ('issued', 'superseded') AND NOT (
    OLD.status = 'issued' AND NEW.status = 'superseded' AND NEW.superseded_by_id IS NOT NULL
    AND NEW.superseded_at IS NOT NULL AND {SAME}
)
BEGIN
    SELECT RAISE(ABORT, 'model card is issued and cannot be changed');
END;
"""
SQLITE_DELETE = """
CREATE TRIGGER IF NOT EXISTS reports_modelcard_frozen_delete
BEFORE DELETE ON reports_modelcard
WHEN OLD.status IN ('issued', 'superseded')
BEGIN
    SELECT RAISE(ABORT, 'model card is issued and cannot be deleted');
END;
"""


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_FUNCTION, params=None)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_UPDATE)
        schema_editor.execute(SQLITE_DELETE)


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_DROP, params=None)
    elif vendor == "sqlite":
        schema_editor.execute("DROP TRIGGER IF EXISTS reports_modelcard_frozen_update")
        schema_editor.execute("DROP TRIGGER IF EXISTS reports_modelcard_frozen_delete")


class Migration(migrations.Migration):
    dependencies = [("reports", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
