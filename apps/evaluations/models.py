from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from apps.accounts.models import ApiToken, Organization
from apps.registry.models import AIModel, DatasetVersion, ModelVersion


class EvaluationSuite(models.Model):
    """A versioned battery of checks: which checks, their parameters, data and thresholds.

    A suite is never edited in place: a change creates the next version, so a run always
    points at exactly what it was judged against.
    """

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="suites")
    name = models.CharField(max_length=200)
    version = models.PositiveIntegerField(default=1)
    description = models.TextField(blank=True)
    checks = models.JSONField(
        default=list
    )  # ["knowledge", "hallucination", "bias", "multilingual"]
    parameters = models.JSONField(default=dict, blank=True)  # engine config per check
    # {"knowledge": {"accuracy": {">=": 0.6}}, ...}
    thresholds = models.JSONField(default=dict, blank=True)
    # {"knowledge.accuracy": 0.05, "*": 0.05}: absolute change beyond which drift is alerted
    drift_tolerance = models.JSONField(default=dict, blank=True)
    datasets = models.ManyToManyField(DatasetVersion, related_name="suites")
    # {"<dataset version id>": ["knowledge"]}: which checks read a dataset; unlisted: every check.
    # The engine gives every item to every check, and parallel multilingual items share ids.
    dataset_checks = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    TENANT_FIELD = "organization"

    class Meta:
        ordering = ["name", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name", "version"], name="suite_name_version_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class EvaluationRun(models.Model):
    """One evaluation of one model version against one suite version, and its state."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    class Trigger(models.TextChoices):
        API = "api", "API"
        PORTAL = "portal", "Portal"
        SCHEDULE = "schedule", "Schedule"
        DEMO = "demo", "Demo"

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="runs")
    model_version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="runs")
    suite = models.ForeignKey(EvaluationSuite, on_delete=models.PROTECT, related_name="runs")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    progress = models.FloatField(default=0.0)  # 0-100
    items_done = models.PositiveIntegerField(default=0)
    items_total = models.PositiveIntegerField(default=0)
    shards_total = models.PositiveIntegerField(default=0)
    trigger = models.CharField(max_length=16, choices=Trigger.choices, default=Trigger.API)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    started_by_token = models.ForeignKey(
        ApiToken, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    schedule = models.ForeignKey(
        "Schedule", on_delete=models.SET_NULL, null=True, blank=True, related_name="runs"
    )
    # Schedule id + due time: a scheduled run is created once per due time, however many beats.
    due_key = models.CharField(max_length=100, null=True, blank=True, unique=True)
    seed = models.PositiveIntegerField(default=0)
    shard_size = models.PositiveIntegerField(default=256)  # work units per shard
    # A rerun from the original's manifest; whether it reproduced is in manifest["rerun_of"].
    rerun_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="reruns"
    )
    # Overall verdict once finished (blank until then): pass only if every check passes;
    # else fail, incomplete, insufficient_data or inconclusive (CheckResult.Verdict).
    verdict = models.CharField(max_length=20, blank=True)
    manifest = models.JSONField(default=dict, blank=True)
    # Per metric: change since the previous run of the same suite on the same model.
    comparison = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    cancel_requested = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # When its start (or, from the sweeper, its finalisation) was last sent: the sweeper sends
    # again only what has waited too long, never once a minute.
    dispatched_at = models.DateTimeField(null=True, blank=True)
    # When it last made progress (planned, a shard stored, a live worker's heartbeat): the
    # sweeper marks a running run that made none for a while as stalled, with the reason.
    progress_at = models.DateTimeField(null=True, blank=True)
    stalled_reason = models.TextField(blank=True)
    # When a finalisation last started computing: the sweeper sends another only if none did
    # since the shards were stored, or once that one has outlived the task's time limit.
    finalize_started_at = models.DateTimeField(null=True, blank=True)

    TENANT_FIELD = "organization"

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["model_version", "suite", "-created_at"]),
            # The list's default order within one organisation (a page without a sort).
            models.Index(fields=["organization", "-created_at"], name="run_org_created"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(progress__gte=0) & models.Q(progress__lte=100),
                name="run_progress_percent",
            ),
        ]

    def __str__(self) -> str:
        return f"Run {self.pk} of {self.model_version} on {self.suite}"


class RunShard(models.Model):
    """A slice of a run's items processed by one worker task; written once per (run, index)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    run = models.ForeignKey(EvaluationRun, on_delete=models.CASCADE, related_name="shards")
    index = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    items_total = models.PositiveIntegerField(default=0)
    items_done = models.PositiveIntegerField(default=0)
    # The work units: [{"key": [...], "item": Item as dict, "rows": [[check, position], ...]}].
    units = models.JSONField(default=list)
    # "host/boot:pid" of the process that holds it, so a dead holder can be told from a slow one.
    worker = models.CharField(max_length=200, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    manifest = models.JSONField(default=dict, blank=True)  # the engine's, from this shard's worker

    TENANT_FIELD = "run__organization"

    class Meta:
        ordering = ["run_id", "index"]
        constraints = [
            models.UniqueConstraint(fields=["run", "index"], name="shard_run_index_unique"),
        ]

    def __str__(self) -> str:
        return f"Run {self.run_id} shard {self.index}"


class CheckResult(models.Model):
    """The metrics (with CIs) and verdicts of one check in one run.

    The verdict follows the engine's decision rule (worker/engine/checks/verdicts.py): pass
    only when every threshold's whole interval is on its passing side; fail when one is
    wholly on its failing side; incomplete when one could not be evaluated; insufficient
    data when a metric's n is under its minimum; inconclusive otherwise.
    """

    class Verdict(models.TextChoices):
        PASS = "pass", "Pass"
        FAIL = "fail", "Fail"
        INCONCLUSIVE = "inconclusive", "Inconclusive"
        INSUFFICIENT_DATA = "insufficient_data", "Insufficient data"
        INCOMPLETE = "incomplete", "Incomplete"
        # Results stored before the decision rule judged intervals.
        NOT_EVALUATED = "not_evaluated", "Not evaluated (legacy)"

    run = models.ForeignKey(EvaluationRun, on_delete=models.CASCADE, related_name="check_results")
    check_name = models.CharField(max_length=40)
    verdict = models.CharField(max_length=20, choices=Verdict.choices)
    metrics = models.JSONField(default=list)  # [MetricValue as dict]
    verdicts = models.JSONField(default=list)  # [Verdict as dict]
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    TENANT_FIELD = "run__organization"

    class Meta:
        ordering = ["run_id", "check_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "check_name"], name="checkresult_run_check_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.check_name}: {self.verdict}"


class ItemResult(models.Model):
    """One scored item of one check in one run: what an auditor needs to re-check it by hand."""

    run = models.ForeignKey(EvaluationRun, on_delete=models.CASCADE, related_name="item_results")
    shard_index = models.PositiveIntegerField()
    check_name = models.CharField(max_length=40)
    item_id = models.CharField(max_length=200)
    language = models.CharField(max_length=16, default="en")
    task = models.CharField(max_length=16, default="mcq")
    group = models.CharField(max_length=100, blank=True)  # specialty, attribute value, ...
    correct = models.BooleanField()
    chosen = models.CharField(max_length=8, blank=True)
    gold = models.JSONField(default=list)
    record = models.JSONField(default=dict)  # the engine's ItemScore as dict

    TENANT_FIELD = "run__organization"

    class Meta:
        ordering = ["run_id", "check_name", "item_id", "language"]
        indexes = [models.Index(fields=["run", "check_name", "correct"])]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "check_name", "item_id", "language"], name="itemresult_once_per_run"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.check_name} {self.item_id} ({self.language})"


class Schedule(models.Model):
    """Re-evaluate a model on a cron, backed by a django-celery-beat periodic task."""

    class Target(models.TextChoices):
        FIXED = "fixed", "A fixed model version"
        DEPLOYED = "deployed", "The version currently in deployment"

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="schedules"
    )
    name = models.CharField(max_length=200)
    suite = models.ForeignKey(EvaluationSuite, on_delete=models.PROTECT, related_name="schedules")
    model = models.ForeignKey(AIModel, on_delete=models.PROTECT, related_name="schedules")
    target = models.CharField(max_length=16, choices=Target.choices, default=Target.DEPLOYED)
    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.PROTECT, null=True, blank=True, related_name="schedules"
    )
    cron = models.CharField(max_length=100)  # five fields, e.g. "0 3 * * 1"
    cron_timezone = models.CharField(max_length=64, default="UTC")
    enabled = models.BooleanField(default=True)
    periodic_task = models.OneToOneField(
        "django_celery_beat.PeriodicTask",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)

    TENANT_FIELD = "organization"

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="schedule_org_name_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(target="deployed", model_version__isnull=True)
                | models.Q(target="fixed", model_version__isnull=False),
                name="schedule_target_version",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class DriftAlert(models.Model):
    """A regression or newly failed threshold found by comparing a run with the previous one."""

    class Kind(models.TextChoices):
        REGRESSION = "regression", "Regression beyond tolerance"
        NEW_FAILURE = "new_failure", "Newly failed threshold"

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="drift_alerts"
    )
    model = models.ForeignKey(AIModel, on_delete=models.PROTECT, related_name="drift_alerts")
    run = models.ForeignKey(EvaluationRun, on_delete=models.CASCADE, related_name="drift_alerts")
    previous_run = models.ForeignKey(EvaluationRun, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    check_name = models.CharField(max_length=40)
    metric = models.CharField(max_length=80)
    previous_value = models.FloatField(null=True)
    value = models.FloatField(null=True)
    tolerance = models.FloatField(null=True)
    message = models.TextField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    TENANT_FIELD = "organization"

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "check_name", "metric", "kind"],
                name="driftalert_once_per_run_metric",
            ),
        ]

    def __str__(self) -> str:
        return self.message
