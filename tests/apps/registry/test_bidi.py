"""Registry free text is stored without Unicode bidirectional controls."""

from __future__ import annotations

import pytest

from apps.registry import services
from apps.registry.models import ModelVersion

pytestmark = pytest.mark.django_db

RLO, PDF, LRI, PDI = "\u202e", "\u202c", "\u2066", "\u2069"


def test_model_and_version_text_lose_bidi_controls_at_input(personas) -> None:
    model = services.ai_model_create(
        organization=personas.org,
        name=f"Discharge {RLO}tnatsissA{PDF}",
        intended_use=f"Drafts {LRI}summaries{PDI}.",
        risk_class="moderate",
        application_area="clinical_workflow",
        decision_role="informs",
    )
    assert (model.name, model.intended_use) == ("Discharge tnatsissA", "Drafts summaries.")
    services.ai_model_update(model=model, out_of_scope_uses=f"{RLO}Paediatrics")
    model.refresh_from_db()
    assert model.out_of_scope_uses == "Paediatrics"
    version = services.model_version_create(
        model=model,
        version_label=f"1.0{RLO}",
        source_kind=ModelVersion.SourceKind.HUB,
        hub_id="example/med-llm",
        revision="0" * 40,
        base_model=f"{LRI}meta-llama/Llama-3.1-8B{PDI}",
    )
    assert (version.version_label, version.base_model) == ("1.0", "meta-llama/Llama-3.1-8B")


def test_dataset_names_lose_bidi_controls_at_input(personas) -> None:
    dataset = services.dataset_create(
        organization=personas.org, name=f"Ward {RLO}seton", description=f"{LRI}x{PDI}"
    )
    assert (dataset.name, dataset.description) == ("Ward seton", "x")
