"""Concurrent appends to one chain on PostgreSQL: serialised, and never forked without the lock."""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.db import IntegrityError, connection, connections

from apps.audit import services
from apps.audit.models import AuditEvent
from apps.audit.selectors import audit_chain_verify
from apps.audit.services import recording
from tests.factories import OrganizationFactory

# Eight threads race on real connections: whether they collide depends on timing (slow).
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
WRITERS = 8


@dataclass
class Outcome:
    appended: int = 0
    refused: int = 0  # IntegrityError from the unique constraints
    crashed: list[BaseException] = field(default_factory=list)


def run_writers(organization_id: int, per_writer: int) -> Outcome:
    """WRITERS threads, each with its own connection, append `per_writer` events each."""
    outcome = Outcome()
    start = threading.Barrier(WRITERS)
    tally = threading.Lock()

    def writer(number: int) -> None:
        try:
            with connection.cursor() as cursor:
                # What is tested is the interleaving, not the disk: skip the commit flush
                # (~7 ms here) so 4,000 serialised appends take seconds, not half a minute.
                cursor.execute("SET synchronous_commit TO off")
            start.wait()
            for n in range(per_writer):
                try:
                    services.audit_record(
                        action="note", organization=organization_id, label=f"writer {number} #{n}"
                    )
                    ok = True
                except IntegrityError:
                    ok = False
                with tally:
                    outcome.appended += ok
                    outcome.refused += not ok
        except BaseException as exc:  # reported by the test, not lost in the thread
            outcome.crashed.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcome


def chain_seqs(organization_id: int) -> list[int]:
    return list(
        AuditEvent.objects.filter(organization_id=organization_id)
        .order_by("seq")
        .values_list("seq", flat=True)
    )


@pytest.fixture
def org() -> Any:
    if connection.vendor != "postgresql":
        pytest.skip("the chain lock is PostgreSQL's; SQLite admits one writer at a time")
    return OrganizationFactory(slug="busy")


def test_eight_writers_times_five_hundred_appends_make_one_unforked_chain(org: Any) -> None:
    outcome = run_writers(org.pk, 500)

    assert outcome.crashed == []
    assert (outcome.appended, outcome.refused) == (WRITERS * 500, 0)
    total = WRITERS * 500 + 1  # and the organisation's own creation event
    assert chain_seqs(org.pk) == list(range(1, total + 1))
    result = audit_chain_verify(organization_id=org.pk)
    assert (result.ok, result.count) == (True, total)


def test_without_the_lock_the_constraints_turn_the_race_into_errors_never_a_fork(
    org: Any, monkeypatch: Any
) -> None:
    # Each append takes a lock of its own, so the lock serialises nothing (the product has
    # no switch for this: the test takes the lock away).
    keys = itertools.count(1 << 40)
    monkeypatch.setattr(recording, "chain_lock_key", lambda organization_id: next(keys))

    outcome = run_writers(org.pk, 100)

    assert outcome.crashed == []
    assert outcome.refused > 0, "the writers never raced: the test proved nothing"
    total = outcome.appended + 1
    assert chain_seqs(org.pk) == list(range(1, total + 1))
    result = audit_chain_verify(organization_id=org.pk)
    assert (result.ok, result.count) == (True, total)
