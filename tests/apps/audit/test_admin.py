"""The admin shows the trail read-only, to superusers and to staff auditors of their own org."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from apps.audit import services

pytestmark = pytest.mark.django_db


def staff_client(user: Any, superuser: bool = False) -> Client:
    user.is_staff, user.is_superuser = True, superuser
    user.save()
    client = Client()
    client.force_login(user)
    return client


def test_events_can_be_read_but_never_added_changed_or_deleted(personas: Any) -> None:
    event = services.audit_record(action="note", organization=personas.org, label="kept")
    client = staff_client(personas.admin, superuser=True)
    base = "/admin/audit/auditevent/"

    assert client.get(base).status_code == 200
    assert client.get(f"{base}{event.pk}/change/").status_code == 200  # the read-only view
    assert client.get(f"{base}add/").status_code == 403
    assert client.post(f"{base}{event.pk}/change/", {"object_label": "x"}).status_code == 403
    assert client.post(f"{base}{event.pk}/delete/", {"post": "yes"}).status_code == 403
    event.refresh_from_db()
    assert event.object_label == "kept"


def test_a_staff_auditor_sees_only_their_organisations_events(personas: Any) -> None:
    mine = services.audit_record(action="note", organization=personas.org)
    theirs = services.audit_record(action="note", organization=personas.other_org)
    client = staff_client(personas.auditor)

    assert client.get(f"/admin/audit/auditevent/{mine.pk}/change/").status_code == 200
    assert client.get(f"/admin/audit/auditevent/{theirs.pk}/change/").status_code == 302
    assert staff_client(personas.model_developer).get("/admin/audit/auditevent/").status_code == 403
