"""Signatures and their withdrawals are never changed or deleted, by anyone (21 CFR 11.70).

Database triggers refuse UPDATE and DELETE on both tables, on PostgreSQL and SQLite, as for
the audit trail; a withdrawal is a new row. TRUNCATE is refused on PostgreSQL too, except
where the test suite switches user triggers off for its flush.
"""

from django.db import migrations

TABLES = ("signoffs_signoff", "signoffs_signoffwithdrawal")

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION signoffs_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: signatures are never changed or deleted (withdraw instead)',
        TG_TABLE_NAME;
END
$$;
"""


def _pg(table: str) -> list[str]:
    return [
        f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION signoffs_refuse_change()",
        f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION signoffs_refuse_change()",
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION signoffs_refuse_change()",
    ]


def _sqlite(table: str) -> list[str]:
    return [
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_{op.lower()} BEFORE {op} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: signatures are never changed "
        "or deleted (withdraw instead)'); END"
        for op in ("UPDATE", "DELETE")
    ]


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_FUNCTION, params=None)
        for table in TABLES:
            for statement in _pg(table):
                schema_editor.execute(statement)
    elif vendor == "sqlite":
        for table in TABLES:
            for statement in _sqlite(table):
                schema_editor.execute(statement)


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for table in TABLES:
        for op in ("update", "delete", "truncate"):
            if vendor == "postgresql":
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_{op} ON {table}")
            elif vendor == "sqlite" and op != "truncate":
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_{op}")
    if vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS signoffs_refuse_change()")


class Migration(migrations.Migration):
    dependencies = [("signoffs", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
