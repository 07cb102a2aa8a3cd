"""API for evaluations, one module per resource: suites, runs (progress, results, per-item
drill-down, comparison, cancel), schedules and drift alerts.

Roles: compliance officers (and admins) define suites and schedules and acknowledge alerts;
they and model developers start and cancel runs; every role reads.
"""

from apps.evaluations.apis.access import DEFINERS, RUNNERS
from apps.evaluations.apis.alerts import DriftAlertApi
from apps.evaluations.apis.runs import RunApi
from apps.evaluations.apis.schedules import ScheduleApi
from apps.evaluations.apis.suites import SuiteApi

__all__ = ["DEFINERS", "RUNNERS", "DriftAlertApi", "RunApi", "ScheduleApi", "SuiteApi"]
