"""Settings come from the environment only, and production mode refuses insecure defaults."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LONG_SECRET = "Qw7-vR2pLx9_ZtK4mNc8sHj3YbF6dGa1eUoP5iTnWq0rXy-Vk2JhL8fDs"
# Print what a typo in settings.py would silently lose.
PROBE = """
import json, django
django.setup()
from django.conf import settings as s
print(json.dumps({
    "DEBUG": s.DEBUG,
    "ALLOWED_HOSTS": s.ALLOWED_HOSTS,
    "SECRET_KEY": s.SECRET_KEY,
    "ENGINE": s.DATABASES["default"]["ENGINE"],
    "UPLOAD_MAX_BYTES": s.UPLOAD_MAX_BYTES,
    "MODEL_ROOTS": [str(p) for p in s.MODEL_ROOTS],
    "MEDIA_ROOT": str(s.MEDIA_ROOT),
    "CELERY_TASK_ALWAYS_EAGER": getattr(s, "CELERY_TASK_ALWAYS_EAGER", False),
    "CELERY_BROKER_URL": s.CELERY_BROKER_URL,
    "CELERY_RESULT_BACKEND": s.CELERY_RESULT_BACKEND,
    "BROKER_FOLDERS": {k: v for k, v in s.CELERY_BROKER_TRANSPORT_OPTIONS.items() if "folder" in k},
    "SESSION_COOKIE_SECURE": s.SESSION_COOKIE_SECURE,
}))
"""


def load_settings(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Import the settings in a fresh interpreter with only the given variables set."""
    minimal = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DJANGO_SETTINGS_MODULE": "governance.settings",
        "CAREALIGN_VAR_DIR": str(tmp_path / "var"),
        **env,
    }
    return subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=REPO,
        env=minimal,
        capture_output=True,
        text=True,
        timeout=120,
    )


def loaded(result: subprocess.CompletedProcess[str]) -> dict[str, object]:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_minimal_environment_gives_a_working_development_setup(tmp_path: Path) -> None:
    values = loaded(load_settings(tmp_path))

    assert values["DEBUG"] is True
    assert values["ALLOWED_HOSTS"] == ["localhost", "127.0.0.1", "[::1]"]
    assert values["ENGINE"] == "django.db.backends.sqlite3"
    assert values["UPLOAD_MAX_BYTES"] == 50 * 1024 * 1024
    assert values["MEDIA_ROOT"] == str(tmp_path / "var" / "media")
    # The embedded default: a real worker on a broker in local files, results in the database.
    assert values["CELERY_TASK_ALWAYS_EAGER"] is False
    assert values["CELERY_BROKER_URL"] == "filesystem://"
    assert values["CELERY_RESULT_BACKEND"] == "django-db"
    queue = tmp_path / "var" / "celery" / "queue"
    assert values["BROKER_FOLDERS"] == {
        "data_folder_in": str(queue),
        "data_folder_out": str(queue),
        "control_folder": str(tmp_path / "var" / "celery" / "control"),
    }
    assert queue.is_dir()


def test_production_environment_is_read_from_variables(tmp_path: Path) -> None:
    values = loaded(
        load_settings(
            tmp_path,
            DJANGO_DEBUG="false",
            DJANGO_SECRET_KEY=LONG_SECRET,
            DJANGO_ALLOWED_HOSTS="carealign.example.org, api.example.org",
            DATABASE_URL="postgres://carealign@db.example.org:5432/carealign",
            CAREALIGN_UPLOAD_MAX_BYTES="1024",
            CAREALIGN_MODEL_ROOTS=str(tmp_path / "models"),
            CELERY_BROKER_URL="redis://127.0.0.1:6379/0",
        )
    )

    assert values["DEBUG"] is False
    assert values["ALLOWED_HOSTS"] == ["carealign.example.org", "api.example.org"]
    assert values["SECRET_KEY"] == LONG_SECRET
    assert values["ENGINE"] == "django.db.backends.postgresql"
    assert values["UPLOAD_MAX_BYTES"] == 1024
    assert values["MODEL_ROOTS"] == [str((tmp_path / "models").resolve())]
    assert values["CELERY_TASK_ALWAYS_EAGER"] is False
    assert values["CELERY_RESULT_BACKEND"] == "redis://127.0.0.1:6379/0"
    assert values["BROKER_FOLDERS"] == {}
    assert values["SESSION_COOKIE_SECURE"] is True


def test_secret_key_can_come_from_a_file(tmp_path: Path) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text(LONG_SECRET + "\n")

    values = loaded(
        load_settings(
            tmp_path,
            DJANGO_DEBUG="false",
            DJANGO_SECRET_KEY_FILE=str(secret_file),
            DJANGO_ALLOWED_HOSTS="carealign.example.org",
        )
    )

    assert values["SECRET_KEY"] == LONG_SECRET


@pytest.mark.parametrize(
    ("env", "message"),
    [
        pytest.param(
            {"DJANGO_DEBUG": "false", "DJANGO_ALLOWED_HOSTS": "carealign.example.org"},
            "DJANGO_SECRET_KEY is the development default",
            id="default-secret-key",
        ),
        pytest.param(
            {
                "DJANGO_DEBUG": "false",
                "DJANGO_SECRET_KEY": "short",
                "DJANGO_ALLOWED_HOSTS": "carealign.example.org",
            },
            "DJANGO_SECRET_KEY has 5 characters; use at least 50",
            id="short-secret-key",
        ),
        pytest.param(
            {
                "DJANGO_DEBUG": "false",
                "DJANGO_SECRET_KEY": "k" * 40,
                "DJANGO_ALLOWED_HOSTS": "carealign.example.org",
            },
            "DJANGO_SECRET_KEY has 40 characters",
            id="forty-k-secret-key",
        ),
        pytest.param(
            {
                "DJANGO_DEBUG": "false",
                "DJANGO_SECRET_KEY": "k" * 64,
                "DJANGO_ALLOWED_HOSTS": "carealign.example.org",
            },
            "uses only 1 distinct characters",
            id="one-letter-secret-key",
        ),
        pytest.param(
            {
                "DJANGO_DEBUG": "false",
                "DJANGO_SECRET_KEY": "abcdef" * 10,
                "DJANGO_ALLOWED_HOSTS": "carealign.example.org",
            },
            "is too predictable",
            id="low-entropy-secret-key",
        ),
        pytest.param(
            {
                "DJANGO_DEBUG": "false",
                "DJANGO_SECRET_KEY": "django-insecure-" + LONG_SECRET,
                "DJANGO_ALLOWED_HOSTS": "carealign.example.org",
            },
            "is the development default",
            id="django-insecure-secret-key",
        ),
        pytest.param(
            {"DJANGO_DEBUG": "false", "DJANGO_SECRET_KEY": LONG_SECRET},
            "DJANGO_ALLOWED_HOSTS is empty",
            id="no-allowed-hosts",
        ),
        pytest.param(
            {
                "DJANGO_DEBUG": "false",
                "DJANGO_SECRET_KEY": LONG_SECRET,
                "DJANGO_ALLOWED_HOSTS": " , ",
            },
            "DJANGO_ALLOWED_HOSTS is empty",
            id="blank-allowed-hosts",
        ),
        pytest.param(
            {"DJANGO_DEBUG": "maybe"},
            "DJANGO_DEBUG must be a boolean",
            id="bad-boolean",
        ),
        pytest.param(
            {"CAREALIGN_UPLOAD_MAX_BYTES": "50MB"},
            "CAREALIGN_UPLOAD_MAX_BYTES must be an integer",
            id="bad-integer",
        ),
        pytest.param(
            {"DJANGO_SECRET_KEY_FILE": "/nonexistent/carealign-secret"},
            "DJANGO_SECRET_KEY_FILE='/nonexistent/carealign-secret' cannot be read",
            id="unreadable-secret-file",
        ),
    ],
)
def test_refuses_to_start_with_insecure_or_invalid_configuration(
    tmp_path: Path, env: dict[str, str], message: str
) -> None:
    result = load_settings(tmp_path, **env)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


def test_check_deploy_is_clean_with_production_settings(tmp_path: Path) -> None:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DJANGO_SETTINGS_MODULE": "governance.settings",
        "CAREALIGN_VAR_DIR": str(tmp_path / "var"),
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": LONG_SECRET,
        "DJANGO_ALLOWED_HOSTS": "carealign.example.org",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "DEBUG"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
