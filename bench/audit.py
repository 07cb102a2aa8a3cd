"""Benchmark the audit trail on PostgreSQL: appends/s with 1 and 8 writers, verification time.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/carealign .venv/bin/python bench/audit.py \
        [--events 100000] [--throughput-events 2000] [--batch 100]

Runs in a throwaway database (<name>_auditbench, created, migrated and dropped), because
audit events can never be deleted. Not a test: it prints figures.

- Throughput: one event per transaction, as a request that changes one record writes it. All
  writers append to one chain, so they queue on its lock, held through each commit's flush.
- Volume: --events appends to a fresh chain through the same path (lock, tip, insert), in
  transactions of --batch events, as a service that changes many records writes them; then
  the chain is verified from the database. Goal: verification <= 0.5 x insert time.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "governance.settings")

import django  # noqa: E402 - after the path and settings are set

django.setup()

from django.db import connection, connections, transaction  # noqa: E402

from apps.accounts.models import Organization  # noqa: E402
from apps.audit.selectors import audit_chain_verify  # noqa: E402
from apps.audit.services import audit_record  # noqa: E402

CHANGES = {
    "risk_class": ["moderate", "high"],
    "intended_users": ["Hospitalists", "Hospitalists and discharge nurses"],
    "lifecycle_stage": ["validation", "deployment"],
}


def append(org_id: int, n: int) -> None:
    audit_record(
        action="update",
        organization=org_id,
        object_type="registry.aimodel",
        object_id=str(n % 500),
        label=f"Discharge assistant {n % 500}",
        changes=CHANGES,
    )


def throughput(org_id: int, events: int, writers: int) -> float:
    """Events per second with `writers` threads appending one event per transaction."""
    per_writer = events // writers
    start = threading.Barrier(writers + 1)

    def writer(offset: int) -> None:
        try:
            start.wait()
            for n in range(per_writer):
                append(org_id, offset + n)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(w * per_writer,)) for w in range(writers)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return per_writer * writers / (time.perf_counter() - began)


def volume(org_id: int, events: int, batch: int) -> float:
    """Seconds to append `events` events in transactions of `batch`."""
    began = time.perf_counter()
    done = 0
    while done < events:
        with transaction.atomic():
            for _ in range(min(batch, events - done)):
                append(org_id, done)
                done += 1
        if done % 20000 == 0:
            print(f"  ... {done} events appended", file=sys.stderr, flush=True)
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=100_000, help="events to verify")
    parser.add_argument("--throughput-events", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=100, help="events per transaction (volume)")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("bench/audit.py measures PostgreSQL: set DATABASE_URL=postgres://...")

    original = connection.settings_dict["NAME"]
    connection.settings_dict.setdefault("TEST", {})["NAME"] = f"{original}_auditbench"
    bench_db = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            sync = cursor.fetchone()[0]
        print(f"database {bench_db} (synchronous_commit={sync}), {os.cpu_count()} CPUs")
        orgs = [
            Organization.objects.create(name=name, slug=name, kind="provider")
            for name in ("one-writer", "eight-writers", "volume")
        ]
        for writers, org in ((1, orgs[0]), (8, orgs[1])):
            rate = throughput(org.pk, args.throughput_events, writers)
            print(f"appends, {writers} writer(s), 1 event/transaction: {rate:,.0f} events/s")
        print(f"appending {args.events:,} events in transactions of {args.batch} ...")
        insert_s = volume(orgs[2].pk, args.events, args.batch)
        print(
            f"insert: {args.events:,} events in {insert_s:.1f} s "
            f"({args.events / insert_s:,.0f} events/s)"
        )
        began = time.perf_counter()
        result = audit_chain_verify(organization_id=orgs[2].pk)
        verify_s = time.perf_counter() - began
        assert result.ok, result.summary
        print(
            f"verify: {result.count:,} events in {verify_s:.1f} s "
            f"({result.count / verify_s:,.0f} events/s)"
        )
        ratio = verify_s / insert_s
        verdict = "meets" if ratio <= 0.5 else "MISSES"
        print(f"verification / insert time: {ratio:.3f} ({verdict} the goal of <= 0.5)")
    finally:
        connections.close_all()
        connection.creation.destroy_test_db(original, verbosity=0)


if __name__ == "__main__":
    main()
