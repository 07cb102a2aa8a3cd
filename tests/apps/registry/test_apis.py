"""Registry API: who may do what, tenant isolation, filtering, ordering, pagination."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.accounts.models import Role
from apps.registry.models import AIModel, DatasetVersion, ModelVersion
from apps.registry.services import dataset_version_create
from tests.factories import (
    AIModelFactory,
    DatasetFactory,
    DatasetVersionFactory,
    ModelVersionDatasetFactory,
    ModelVersionFactory,
)

pytestmark = pytest.mark.django_db

ALL = set(Role.values)
WRITERS = {Role.ADMIN, Role.COMPLIANCE_OFFICER, Role.MODEL_DEVELOPER}
CURATORS = {Role.ADMIN, Role.COMPLIANCE_OFFICER}
ITEMS = b'{"id": "q1", "question": "Which drug?", "options": {"A": "x", "B": "y"}, "gold": ["A"]}\n'


def items_file(content: bytes = ITEMS, name: str = "items.jsonl") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


@pytest.fixture
def objects(personas) -> dict[str, Any]:
    """Organisation A's registry: a model with a version, a bare model, a dataset with a file."""
    model = AIModelFactory(organization=personas.org, name="Discharge drafter")
    dataset = DatasetFactory(organization=personas.org, name="Cardiology MCQ")
    dataset_version = dataset_version_create(
        dataset=dataset,
        upload=items_file(),
        format="jsonl",
        phi_status="none",
        licence="CC BY 4.0",
        provenance="Written by our clinicians",
    )
    return {
        "model": model,
        "bare_model": AIModelFactory(organization=personas.org, name="Unused"),
        "version": ModelVersionFactory(model=model),
        "dataset": dataset,
        "dataset_version": dataset_version,
    }


@dataclass(frozen=True)
class Case:
    """One operation: how to call it, who may, and what success looks like."""

    method: str
    path: Callable[[dict[str, Any]], str]
    allowed: set[str]
    ok: int
    body: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    multipart: bool = False

    def call(self, client: Any, objects: dict[str, Any]) -> Any:
        data = self.body(objects) if self.body else None
        fmt = "multipart" if self.multipart else "json"
        return getattr(client, self.method)(self.path(objects), data, format=fmt)


def new_model(o: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": "Triage assistant",
        "intended_use": "Suggests an ED triage level for nurse review.",
        "decision_role": "informs",
        "application_area": "patient_care",
        "risk_class": "high",
    }


def new_version(o: dict[str, Any]) -> dict[str, Any]:
    return {
        "model": o["model"].pk,
        "version_label": "2.0.0",
        "source_kind": "hub",
        "hub_id": "example/med-llm",
        "revision": "a" * 40,
    }


def new_dataset_version(o: dict[str, Any]) -> dict[str, Any]:
    content = ITEMS.replace(b"q1", b"q2")
    return {
        "dataset": o["dataset"].pk,
        "file": items_file(content),
        "format": "jsonl",
        "phi_status": "none",
        "licence": "CC BY 4.0",
        "provenance": "Second batch",
    }


CASES = {
    "model-list": Case("get", lambda o: "/api/v1/models/", ALL, 200),
    "model-detail": Case("get", lambda o: f"/api/v1/models/{o['model'].pk}/", ALL, 200),
    "model-create": Case("post", lambda o: "/api/v1/models/", WRITERS, 201, new_model),
    "model-update": Case(
        "patch",
        lambda o: f"/api/v1/models/{o['model'].pk}/",
        WRITERS,
        200,
        lambda o: {"risk_class": "high"},
    ),
    "model-delete": Case(
        "delete", lambda o: f"/api/v1/models/{o['bare_model'].pk}/", CURATORS, 204
    ),
    "version-list": Case("get", lambda o: "/api/v1/model-versions/", ALL, 200),
    "version-detail": Case("get", lambda o: f"/api/v1/model-versions/{o['version'].pk}/", ALL, 200),
    "version-create": Case("post", lambda o: "/api/v1/model-versions/", WRITERS, 201, new_version),
    "version-update": Case(
        "patch",
        lambda o: f"/api/v1/model-versions/{o['version'].pk}/",
        WRITERS,
        200,
        lambda o: {"base_model": "gpt2"},
    ),
    "dataset-list": Case("get", lambda o: "/api/v1/datasets/", ALL, 200),
    "dataset-detail": Case("get", lambda o: f"/api/v1/datasets/{o['dataset'].pk}/", ALL, 200),
    "dataset-create": Case(
        "post", lambda o: "/api/v1/datasets/", WRITERS, 201, lambda o: {"name": "Oncology"}
    ),
    "dataset-version-list": Case("get", lambda o: "/api/v1/dataset-versions/", ALL, 200),
    "dataset-version-detail": Case(
        "get", lambda o: f"/api/v1/dataset-versions/{o['dataset_version'].pk}/", ALL, 200
    ),
    "dataset-version-download": Case(
        "get", lambda o: f"/api/v1/dataset-versions/{o['dataset_version'].pk}/download/", ALL, 200
    ),
    "dataset-version-create": Case(
        "post", lambda o: "/api/v1/dataset-versions/", WRITERS, 201, new_dataset_version, True
    ),
}
# Everything that addresses one of A's objects by id: a user of B must get 404 for each.
OBJECT_CASES = [
    name for name in CASES if name.rsplit("-", 1)[1] in {"detail", "update", "delete", "download"}
]


@pytest.mark.parametrize("role", sorted(ALL))
@pytest.mark.parametrize("name", CASES)
def test_each_role_gets_exactly_its_permissions(client_for, objects, name, role):
    case = CASES[name]

    response = case.call(client_for(role), objects)

    expected = case.ok if role in case.allowed else 403
    assert response.status_code == expected, response.content
    if expected == 403:
        assert response.json()["error"]["code"] == "permission_denied"


@pytest.mark.parametrize("name", OBJECT_CASES)
def test_a_user_of_another_organisation_gets_404_for_every_object(client_for, objects, name):
    response = CASES[name].call(client_for("outsider"), objects)

    assert response.status_code == 404, response.content
    assert response.json()["error"]["code"] == "not_found"


def test_lists_hide_other_organisations(client_for, objects, personas):
    AIModelFactory(organization=personas.other_org, name="Payer model")

    names = [m["name"] for m in client_for("auditor").get("/api/v1/models/").json()["results"]]
    other = [m["name"] for m in client_for("outsider").get("/api/v1/models/").json()["results"]]

    assert names == ["Discharge drafter", "Unused"]
    assert other == ["Payer model"]


def test_versions_cannot_be_registered_on_another_organisations_model(client_for, objects):
    response = client_for("outsider").post(
        "/api/v1/model-versions/", new_version(objects), format="json"
    )

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"model": ["No such model."]}
    assert not ModelVersion.objects.filter(version_label="2.0.0").exists()


def test_files_cannot_be_uploaded_to_another_organisations_dataset(client_for, objects):
    response = client_for("outsider").post(
        "/api/v1/dataset-versions/", new_dataset_version(objects), format="multipart"
    )

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"dataset": ["No such dataset."]}
    assert DatasetVersion.objects.count() == 1


def test_a_model_is_created_in_the_callers_organisation(client_for, personas):
    response = client_for("model_developer").post("/api/v1/models/", new_model({}), format="json")

    assert response.status_code == 201
    assert response.json()["organization"] == "st-example"
    assert AIModel.objects.get(name="Triage assistant").organization == personas.org


def test_cannot_create_in_an_organisation_one_does_not_belong_to(client_for, personas):
    body = {**new_model({}), "organization": "other-payer"}

    response = client_for("admin").post("/api/v1/models/", body, format="json")

    assert response.status_code == 400
    assert "other-payer" in response.json()["error"]["message"]
    assert not AIModel.objects.exists()


def test_a_model_with_versions_cannot_be_deleted(client_for, objects):
    response = client_for("admin").delete(f"/api/v1/models/{objects['model'].pk}/")

    assert response.status_code == 400
    assert "retire them" in response.json()["error"]["message"]
    assert AIModel.objects.filter(pk=objects["model"].pk).exists()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("put", "/api/v1/models/{model}/"),
        ("put", "/api/v1/model-versions/{version}/"),
        ("delete", "/api/v1/model-versions/{version}/"),
        ("patch", "/api/v1/datasets/{dataset}/"),
        ("delete", "/api/v1/datasets/{dataset}/"),
        ("put", "/api/v1/dataset-versions/{dataset_version}/"),
        ("patch", "/api/v1/dataset-versions/{dataset_version}/"),
        ("delete", "/api/v1/dataset-versions/{dataset_version}/"),
    ],
)
@pytest.mark.parametrize("role", ["admin", "auditor"])
def test_operations_without_an_endpoint_are_405_for_everyone(
    client_for, objects, method, path, role
):
    url = path.format(**{key: obj.pk for key, obj in objects.items()})

    response = getattr(client_for(role), method)(url, {}, format="json")

    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_download_returns_the_stored_bytes(client_for, objects):
    url = f"/api/v1/dataset-versions/{objects['dataset_version'].pk}/download/"

    response = client_for("clinical_reviewer").get(url)

    assert b"".join(response.streaming_content) == ITEMS
    assert 'filename="items.jsonl"' in response["Content-Disposition"]


def test_filters_ordering_and_pagination(client_for, personas):
    for name, risk in [("c", "high"), ("a", "low"), ("b", "high"), ("d", "high")]:
        AIModelFactory(organization=personas.org, name=name, risk_class=risk)
    client = client_for("auditor")

    filtered = client.get("/api/v1/models/?risk_class=high&ordering=-name").json()
    page = client.get("/api/v1/models/?ordering=name&page_size=2&page=2").json()

    assert [m["name"] for m in filtered["results"]] == ["d", "c", "b"]
    assert filtered["count"] == 3
    assert page["count"] == 4
    assert [m["name"] for m in page["results"]] == ["c", "d"]
    assert page["next"] is None and "page_size=2" in page["previous"]


def test_an_invalid_filter_value_is_a_400_in_the_error_shape(client_for, personas):
    response = client_for("auditor").get("/api/v1/models/?risk_class=extreme")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert "risk_class" in error["fields"]


def test_version_filters(client_for, objects, personas):
    other = ModelVersionFactory(model=objects["bare_model"], lifecycle_stage="deployment")
    client = client_for("auditor")

    by_model = client.get(f"/api/v1/model-versions/?model={objects['bare_model'].pk}").json()
    by_stage = client.get("/api/v1/model-versions/?lifecycle_stage=deployment").json()

    assert [v["id"] for v in by_model["results"]] == [other.pk]
    assert [v["id"] for v in by_stage["results"]] == [other.pk]


def make_models(org, n):
    for _ in range(n):
        version = ModelVersionFactory(model=AIModelFactory(organization=org))
        ModelVersionDatasetFactory(
            model_version=version, dataset_version=DatasetVersionFactory(dataset__organization=org)
        )


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/models/",
        "/api/v1/model-versions/",
        "/api/v1/datasets/",
        "/api/v1/dataset-versions/",
    ],
)
@pytest.mark.parametrize("n", [5, 50])
def test_list_query_count_does_not_grow_with_page_size(
    client_for, personas, django_assert_max_num_queries, path, n
):
    make_models(personas.org, n)
    client = client_for("auditor")

    with django_assert_max_num_queries(4):
        response = client.get(f"{path}?page_size=100")

    assert len(response.json()["results"]) == n


def test_the_owner_is_a_member_of_the_models_organisation(client_for, personas):
    response = client_for("admin").post(
        "/api/v1/models/", {**new_model({}), "owner": "clinical_reviewer"}, format="json"
    )

    assert response.status_code == 201
    assert response.json()["owner"] == "clinical_reviewer"


@pytest.mark.parametrize("username", ["outsider", "nobody"])
def test_people_of_other_organisations_cannot_own_a_model_nor_be_probed(
    client_for, objects, username
):
    client = client_for("admin")

    created = client.post("/api/v1/models/", {**new_model({}), "owner": username}, format="json")
    updated = client.patch(
        f"/api/v1/models/{objects['model'].pk}/", {"owner": username}, format="json"
    )

    message = ["No member of this organisation has this username."]
    assert created.status_code == updated.status_code == 400
    assert (
        created.json()["error"]["fields"] == updated.json()["error"]["fields"] == {"owner": message}
    )
    objects["model"].refresh_from_db()
    assert objects["model"].owner is None
