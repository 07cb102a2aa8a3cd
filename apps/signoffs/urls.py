from rest_framework.routers import SimpleRouter

from apps.signoffs.apis.preferences import PreferenceStudyApi
from apps.signoffs.apis.signoffs import SignOffApi, StageGateApi, StageRequirementApi

router = SimpleRouter()
router.register("signoffs", SignOffApi, basename="signoff")
router.register("stage-requirements", StageRequirementApi, basename="stage-requirement")
router.register("stage-gates", StageGateApi, basename="stage-gate")
router.register("preference-studies", PreferenceStudyApi, basename="preference-study")

urlpatterns = router.urls
