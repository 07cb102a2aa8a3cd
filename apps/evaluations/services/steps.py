"""What a service decided should happen next; the task layer (worker/tasks.py) sends it.

Services never import a task module: they return one of these, and the caller hands it to
`worker.tasks`, which sends the messages after the transaction commits. Every message is
safe to send twice (each step checks the state it expects), so a send that fails (broker
down) is left to the sweeper, which sends again what waited too long.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RunPlan:
    """A run was claimed and split: its shards go out as a chord that finalises the run."""

    run_id: int
    shard_ids: tuple[int, ...]


@dataclass(frozen=True)
class ShardOutcome:
    """What became of one delivery of a shard, and whether its run is ready to finalise."""

    outcome: str  # "done", "duplicate", "skipped: ...", "stopped: ..."
    run_id: int | None = None
    last: bool = False  # this shard completed the run: send its finalisation

    def __str__(self) -> str:
        return self.outcome


@dataclass
class SweepResult:
    """The sweeper's findings: what to send again, and what it changed itself."""

    requeue: list[int] = field(default_factory=list)  # shards whose holder is gone
    redispatch: list[int] = field(default_factory=list)  # pending shards whose message was lost
    finalise: list[int] = field(default_factory=list)  # runs whose shards are all stored
    restart: list[int] = field(default_factory=list)  # queued runs whose start was lost
    failed: int = 0  # runs failed (a shard used up its attempts)
    stalled: int = 0  # runs newly marked stalled

    def counts(self) -> dict[str, int]:
        return {
            "requeued": len(self.requeue),
            "redispatched": len(self.redispatch),
            "failed": self.failed,
            "finalised": len(self.finalise),
            "restarted": len(self.restart),
            "stalled": self.stalled,
        }
