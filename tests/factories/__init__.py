"""factory_boy factories, one per model; personas are built from these in conftest.py.

A row that the product only ever creates through a service (a token's digest, a card's
version number, an audit event's place in its chain, a signature's re-entered password) is
created through that service here too: those factories are `ServiceFactory`s, whose create
calls the service with the factory's fields. The others are plain model factories for rows
whose content a test states directly (a finished run's results, a drift alert).
"""

from tests.factories.accounts import (
    ApiTokenFactory,
    IdempotencyKeyFactory,
    InvitationFactory,
    MembershipFactory,
    OrganizationFactory,
    ServiceAccountFactory,
    UserFactory,
    member,
)
from tests.factories.audit import (
    AuditEventFactory,
    ChainVerificationFactory,
)
from tests.factories.base import (
    PASSWORD,
    ServiceFactory,
)
from tests.factories.evaluations import (
    CheckResultFactory,
    DriftAlertFactory,
    EvaluationRunFactory,
    EvaluationSuiteFactory,
    ItemResultFactory,
    RunShardFactory,
    ScheduleFactory,
    metric,
)
from tests.factories.registry import (
    AIModelFactory,
    DatasetFactory,
    DatasetVersionFactory,
    ModelVersionDatasetFactory,
    ModelVersionFactory,
)
from tests.factories.reports import (
    ComparisonReportFactory,
    ModelCardFactory,
    ModelDocumentationFactory,
)
from tests.factories.signoffs import (
    PreferenceExportFactory,
    PreferenceJudgmentFactory,
    PreferencePairFactory,
    PreferenceStudyFactory,
    SignOffFactory,
    SignOffWithdrawalFactory,
    StageRequirementFactory,
)

__all__ = [
    "AIModelFactory",
    "ApiTokenFactory",
    "AuditEventFactory",
    "ChainVerificationFactory",
    "CheckResultFactory",
    "DatasetFactory",
    "DatasetVersionFactory",
    "DriftAlertFactory",
    "EvaluationRunFactory",
    "EvaluationSuiteFactory",
    "IdempotencyKeyFactory",
    "InvitationFactory",
    "ItemResultFactory",
    "MembershipFactory",
    "ComparisonReportFactory",
    "ModelCardFactory",
    "ModelDocumentationFactory",
    "ModelVersionDatasetFactory",
    "ModelVersionFactory",
    "OrganizationFactory",
    "PASSWORD",
    "PreferenceExportFactory",
    "PreferenceJudgmentFactory",
    "PreferencePairFactory",
    "PreferenceStudyFactory",
    "RunShardFactory",
    "ScheduleFactory",
    "ServiceAccountFactory",
    "ServiceFactory",
    "SignOffFactory",
    "SignOffWithdrawalFactory",
    "StageRequirementFactory",
    "UserFactory",
    "member",
    "metric",
]
