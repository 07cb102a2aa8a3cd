"""Registry services: pinned model versions, local weights digests, vocabularies, lifecycle."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from apps.registry import services
from apps.registry.constants import ALIGNMENT_TECHNIQUES
from apps.registry.models import AIModel, ModelVersion, ModelVersionDataset
from tests.factories import (
    AIModelFactory,
    DatasetVersionFactory,
    ModelVersionFactory,
    OrganizationFactory,
)
from worker.engine.loading import weights_digest

pytestmark = pytest.mark.django_db

REVISION = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def model(personas) -> AIModel:
    return AIModelFactory(organization=personas.org, name="Discharge drafter")


@pytest.fixture
def model_root(settings, tmp_path) -> Path:
    root = tmp_path / "models"
    root.mkdir()
    settings.MODEL_ROOTS = [root.resolve()]
    return root


def model_folder(parent: Path, name: str = "tiny", weights: bytes = b"\x00\x01weights") -> Path:
    folder = parent / name
    folder.mkdir(parents=True)
    (folder / "config.json").write_text('{"model_type": "gpt2", "n_layer": 1}')
    (folder / "model.safetensors").write_bytes(weights)
    return folder


def test_a_hub_version_is_pinned_to_its_revision(model):
    version = services.model_version_create(
        model=model,
        version_label="1.0",
        source_kind="hub",
        hub_id="example/med-llm",
        revision=REVISION,
    )

    assert version.source == f"example/med-llm@{REVISION}"
    assert version.weights_digest == ""
    assert version.lifecycle_stage == "data_curation"


@pytest.mark.parametrize("revision", ["main", "v1.0", REVISION[:12], "", "g" * 40])
def test_a_hub_version_needs_a_40_hex_revision(model, revision):
    with pytest.raises(ValidationError):
        services.model_version_create(
            model=model,
            version_label="1.0",
            source_kind="hub",
            hub_id="example/med-llm",
            revision=revision,
        )
    assert not ModelVersion.objects.exists()


def test_the_database_refuses_an_unpinned_version(model):
    with pytest.raises(IntegrityError), transaction.atomic():
        ModelVersion.objects.create(
            model=model, version_label="x", source_kind="hub", hub_id="a/b", revision="main"
        )


def test_a_local_version_records_the_digest_of_its_weights(model, model_root):
    folder = model_folder(model_root)

    version = services.model_version_create(
        model=model, version_label="1.0", source_kind="local", local_path=str(folder)
    )

    assert len(version.weights_digest) == 64
    assert version.weights_digest == weights_digest(folder)
    assert version.source == str(folder.resolve())


def test_different_weights_give_a_different_digest(model, model_root):
    one = services.model_version_create(
        model=model,
        version_label="1",
        source_kind="local",
        local_path=str(model_folder(model_root, "a")),
    )
    two = services.model_version_create(
        model=model,
        version_label="2",
        source_kind="local",
        local_path=str(model_folder(model_root, "b", weights=b"\x00\x02weights")),
    )

    assert one.weights_digest != two.weights_digest


def test_a_local_path_is_stored_resolved(model, model_root, monkeypatch):
    model_folder(model_root, "tiny")
    monkeypatch.chdir(model_root)

    version = services.model_version_create(
        model=model, version_label="1", source_kind="local", local_path="./sub/../tiny"
    )

    assert version.local_path == str((model_root / "tiny").resolve())


@pytest.mark.parametrize("where", ["outside", "traversal", "symlink"])
def test_a_local_path_outside_the_model_roots_is_refused(model, model_root, tmp_path, where):
    outside = model_folder(tmp_path, "elsewhere")
    paths = {
        "outside": str(outside),
        "traversal": f"{model_root}/../elsewhere",
        "symlink": str(model_root / "link"),
    }
    (model_root / "link").symlink_to(outside)

    with pytest.raises(ValidationError) as caught:
        services.model_version_create(
            model=model, version_label="1", source_kind="local", local_path=paths[where]
        )

    assert "configured model roots" in str(caught.value)
    assert not ModelVersion.objects.exists()


def test_a_local_path_must_be_a_model_folder(model, model_root):
    (model_root / "empty").mkdir()

    with pytest.raises(ValidationError, match="no config.json"):
        services.model_version_create(
            model=model,
            version_label="1",
            source_kind="local",
            local_path=str(model_root / "empty"),
        )


def test_alignment_techniques_come_from_the_fixed_vocabulary(model):
    version = services.model_version_create(
        model=model,
        version_label="1",
        source_kind="hub",
        hub_id="a/b",
        revision=REVISION,
        alignment_techniques=["dpo", "instruction_tuning", "dpo"],
    )

    assert version.alignment_techniques == ["dpo", "instruction_tuning"]
    with pytest.raises(ValidationError, match="Unknown technique"):
        services.model_version_update(version=version, alignment_techniques=["vibes"])


def test_the_vocabulary_covers_the_design():
    assert set(ALIGNMENT_TECHNIQUES) == {
        "domain_pretraining",
        "instruction_tuning",
        "rlhf",
        "dpo",
        "peft_lora",
        "rag",
        "chain_of_thought",
        "mixture_of_experts",
    }


def test_training_datasets_are_linked_with_their_role(model, personas):
    pretraining = DatasetVersionFactory(dataset__organization=personas.org)
    preference = DatasetVersionFactory(dataset__organization=personas.org)

    version = services.model_version_create(
        model=model,
        version_label="1",
        source_kind="hub",
        hub_id="a/b",
        revision=REVISION,
        training_datasets=[(pretraining, "pretraining"), (preference, "preference")],
    )

    links = {(link.dataset_version, link.role) for link in version.dataset_links.all()}
    assert links == {(pretraining, "pretraining"), (preference, "preference")}


def test_training_datasets_must_belong_to_the_models_organisation(model):
    foreign = DatasetVersionFactory(dataset__organization=OrganizationFactory())

    with pytest.raises(ValidationError, match="model's organisation"):
        services.model_version_create(
            model=model,
            version_label="1",
            source_kind="hub",
            hub_id="a/b",
            revision=REVISION,
            training_datasets=[(foreign, "fine_tuning")],
        )
    assert not ModelVersion.objects.exists()
    assert not ModelVersionDataset.objects.exists()


def test_a_version_moves_through_its_lifecycle_but_keeps_its_source(model):
    version = ModelVersionFactory(model=model, revision=REVISION)

    services.model_version_update(version=version, lifecycle_stage="validation")
    version.refresh_from_db()

    assert version.lifecycle_stage == "validation"
    assert version.revision == REVISION
    with pytest.raises(ValidationError):
        services.model_version_update(version=version, lifecycle_stage="shipped")


def test_version_labels_are_unique_per_model(model):
    ModelVersionFactory(model=model, version_label="1.0")

    with pytest.raises(ValidationError, match="already has a version"):
        services.model_version_create(
            model=model, version_label="1.0", source_kind="hub", hub_id="a/b", revision=REVISION
        )


def test_model_names_are_unique_per_organisation(model, personas):
    with pytest.raises(ValidationError, match="already exists"):
        services.ai_model_create(
            organization=personas.org,
            name="Discharge drafter",
            intended_use="x",
            decision_role="informs",
            application_area="patient_care",
            risk_class="low",
        )
    other = services.ai_model_create(
        organization=personas.other_org,
        name="Discharge drafter",
        intended_use="x",
        decision_role="informs",
        application_area="patient_care",
        risk_class="low",
    )
    assert other.organization == personas.other_org


def test_a_model_cannot_move_organisation_through_an_update(model, personas):
    with pytest.raises(ValidationError, match="cannot be changed"):
        services.ai_model_update(model=model, organization=personas.other_org)


def test_the_database_requires_a_method_for_deidentified_data(personas):
    with pytest.raises(IntegrityError), transaction.atomic():
        DatasetVersionFactory(
            dataset__organization=personas.org,
            phi_status="deidentified",
            deidentification_method="",
        )


def test_a_model_owner_must_belong_to_its_organisation(model, personas):
    with pytest.raises(ValidationError, match="member of the model's organisation"):
        services.ai_model_update(model=model, owner=personas.outsider)

    services.ai_model_update(model=model, owner=personas.model_developer)
    model.refresh_from_db()
    assert model.owner == personas.model_developer
