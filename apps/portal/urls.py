from django.urls import path

from apps.portal.views import audit, auth, cards, dashboard, datasets, models, org, runs, suites

app_name = "portal"

urlpatterns = [
    path("", auth.home, name="home"),
    path("signin/", auth.signin, name="signin"),
    path("signout/", auth.signout, name="signout"),
    path("organisation/switch/", auth.switch_org, name="switch-org"),
    path("account/tokens/", auth.tokens, name="tokens"),
    path("account/tokens/<int:pk>/revoke/", auth.token_revoke, name="token-revoke"),
    path("dashboard/", dashboard.dashboard, name="dashboard"),
    path("dashboard/active-runs/", dashboard.active_runs, name="active-runs"),
    path("models/", models.model_list, name="models"),
    path("models/<int:pk>/", models.model_detail, name="model"),
    path(
        "models/<int:pk>/versions/<int:version_pk>/stage/",
        models.version_stage,
        name="version-stage",
    ),
    path("models/<int:pk>/schedules/", models.schedule_create, name="schedule-create"),
    path("runs/", runs.run_list, name="runs"),
    path("suites/new/", suites.suite_new, name="suite-new"),
    path("runs/<int:pk>/", runs.run_detail, name="run"),
    path("runs/<int:pk>/progress/", runs.run_progress, name="run-progress"),
    path("runs/<int:pk>/cancel/", runs.run_cancel, name="run-cancel"),
    path("runs/<int:pk>/items/", runs.run_items, name="run-items"),
    path("cards/", cards.card_list, name="cards"),
    path("cards/<uuid:pk>/", cards.card_detail, name="card"),
    path("cards/<uuid:pk>/status/", cards.card_status, name="card-status"),
    path("cards/<uuid:pk>/fill/", cards.card_fill, name="card-fill"),
    path("cards/<uuid:pk>/render/", cards.card_redraft, name="card-redraft"),
    path("cards/<uuid:pk>/issue/", cards.card_issue, name="card-issue"),
    path("verify/", cards.verify, name="verify"),
    path("datasets/", datasets.dataset_list, name="datasets"),
    path("datasets/<int:pk>/", datasets.dataset_detail, name="dataset"),
    path("audit/", audit.audit_trail, name="audit"),
    path("audit/verify/", audit.audit_verify, name="audit-verify"),
    path("organisation/", org.org_admin, name="org"),
    path("organisation/members/<int:pk>/", org.member_role, name="member-role"),
    path("organisation/tokens/<int:pk>/revoke/", org.org_token_revoke, name="org-token-revoke"),
]
