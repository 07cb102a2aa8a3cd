"""Accounts API: organisations for everyone, memberships and tokens for admins only."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from apps.accounts.models import ApiToken, Membership, Role
from apps.accounts.services import api_token_create
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db

ALL = set(Role.values)
ADMINS = {Role.ADMIN}


@pytest.fixture
def objects(personas) -> dict[str, Any]:
    newcomer = UserFactory(username="newcomer")
    return {
        "org": personas.org,
        "membership": MembershipFactory(organization=personas.org, role=Role.AUDITOR),
        "newcomer": newcomer,
        "token": api_token_create(
            organization=personas.org, created_by=personas.admin, name="ci", role="auditor"
        ).token,
    }


@dataclass(frozen=True)
class Case:
    method: str
    path: Callable[[dict[str, Any]], str]
    allowed: set[str]
    ok: int
    body: dict[str, Any] | None = None
    denied: int = 403  # what the others get

    def call(self, client: Any, objects: dict[str, Any]) -> Any:
        return getattr(client, self.method)(self.path(objects), self.body, format="json")


CASES = {
    "organization-list": Case("get", lambda o: "/api/v1/organizations/", ALL, 200),
    "organization-detail": Case("get", lambda o: "/api/v1/organizations/st-example/", ALL, 200),
    "membership-list": Case("get", lambda o: "/api/v1/memberships/", ADMINS, 200),
    "membership-detail": Case(
        "get", lambda o: f"/api/v1/memberships/{o['membership'].pk}/", ADMINS, 200
    ),
    "invitation-create": Case(
        "post",
        lambda o: "/api/v1/invitations/",
        ADMINS,
        201,
        {"username": "newcomer", "role": "clinical_reviewer"},
    ),
    "invitation-list": Case("get", lambda o: "/api/v1/invitations/", ADMINS, 200),
    "membership-update": Case(
        "patch",
        lambda o: f"/api/v1/memberships/{o['membership'].pk}/",
        ADMINS,
        200,
        {"role": "clinical_reviewer"},
    ),
    "membership-delete": Case(
        "delete", lambda o: f"/api/v1/memberships/{o['membership'].pk}/", ADMINS, 204
    ),
    # Everyone lists the tokens they hold (none here); another holder's token is not found.
    "token-list": Case("get", lambda o: "/api/v1/tokens/", ALL, 200),
    "token-detail": Case(
        "get", lambda o: f"/api/v1/tokens/{o['token'].pk}/", ADMINS, 200, denied=404
    ),
    "token-create": Case(
        "post", lambda o: "/api/v1/tokens/", ADMINS, 201, {"name": "ci", "role": "auditor"}
    ),
    "token-revoke": Case(
        "post", lambda o: f"/api/v1/tokens/{o['token'].pk}/revoke/", ADMINS, 200, denied=404
    ),
}
OBJECT_CASES = [
    name for name in CASES if name.rsplit("-", 1)[1] in {"detail", "update", "delete", "revoke"}
]


@pytest.mark.parametrize("role", sorted(ALL))
@pytest.mark.parametrize("name", CASES)
def test_each_role_gets_exactly_its_permissions(client_for, objects, name, role):
    case = CASES[name]

    response = case.call(client_for(role), objects)

    expected = case.ok if role in case.allowed else case.denied
    assert response.status_code == expected, response.content


@pytest.mark.parametrize("name", OBJECT_CASES)
def test_a_user_of_another_organisation_gets_404_for_every_object(client_for, objects, name):
    response = CASES[name].call(client_for("outsider"), objects)

    assert response.status_code == 404, response.content
    assert response.json()["error"]["code"] == "not_found"


def test_organisations_list_only_the_callers(client_for, personas):
    OrganizationFactory(slug="unrelated")

    slugs = [
        o["slug"] for o in client_for("auditor").get("/api/v1/organizations/").json()["results"]
    ]

    assert slugs == ["st-example"]


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_organisations_are_read_only(client_for, method):
    url = "/api/v1/organizations/" if method == "post" else "/api/v1/organizations/st-example/"

    response = getattr(client_for("admin"), method)(url, {"name": "Renamed"}, format="json")

    assert response.status_code == 405


def test_an_admin_lists_memberships_of_their_organisation_only(client_for, personas):
    listed = client_for("admin").get("/api/v1/memberships/?page_size=100").json()["results"]

    assert {m["organization"] for m in listed} == {"st-example"}
    assert sorted(m["username"] for m in listed) == sorted(Role.values)


def test_an_admin_changes_a_member(client_for, objects, personas):
    membership = objects["membership"]

    changed = client_for("admin").patch(
        f"/api/v1/memberships/{membership.pk}/", {"role": "clinical_reviewer"}
    )

    assert changed.json()["role"] == "clinical_reviewer"
    membership.refresh_from_db()
    assert (membership.organization, membership.role) == (personas.org, "clinical_reviewer")


def test_members_are_no_longer_added_without_consent(client_for, objects):
    body = {"username": "newcomer", "role": "auditor"}

    response = client_for("admin").post("/api/v1/memberships/", body, format="json")

    assert response.status_code == 405
    assert not Membership.objects.filter(user=objects["newcomer"]).exists()


def test_an_admin_of_one_organisation_is_only_a_reader_in_another(client_for, personas, objects):
    Membership.objects.create(user=personas.auditor, organization=personas.other_org, role="admin")
    client = client_for("auditor")  # auditor in A, admin in B

    tokens = client.get("/api/v1/tokens/").json()["results"]
    revoke = client.post(f"/api/v1/tokens/{objects['token'].pk}/revoke/")
    create = client.post(
        "/api/v1/tokens/", {"name": "x", "role": "admin", "organization": "st-example"}
    )

    assert tokens == []
    assert revoke.status_code == 404
    assert create.status_code == 403
    assert ApiToken.objects.count() == 1


def test_an_admin_of_two_organisations_must_name_one(client_for, personas):
    Membership.objects.create(user=personas.admin, organization=personas.other_org, role="admin")

    unnamed = client_for("admin").post("/api/v1/tokens/", {"name": "x", "role": "auditor"})
    named = client_for("admin").post(
        "/api/v1/tokens/", {"name": "x", "role": "auditor", "organization": "other-payer"}
    )

    assert unnamed.status_code == 400
    assert "name one by its slug" in unnamed.json()["error"]["message"]
    assert named.status_code == 201
    assert named.json()["organization"] == "other-payer"


def make_rows(personas, n):
    for i in range(n):
        org = OrganizationFactory()
        MembershipFactory(organization=org, user=personas.admin, role=Role.ADMIN)
        MembershipFactory(organization=personas.org, role=Role.AUDITOR)
        api_token_create(
            organization=personas.org, created_by=personas.admin, name=f"t{i}", role="auditor"
        )


@pytest.mark.parametrize(
    "path", ["/api/v1/organizations/", "/api/v1/memberships/", "/api/v1/tokens/"]
)
@pytest.mark.parametrize("n", [5, 50])
def test_list_query_count_does_not_grow_with_page_size(
    client_for, personas, django_assert_max_num_queries, path, n
):
    make_rows(personas, n)
    client = client_for("admin")

    with django_assert_max_num_queries(3):
        response = client.get(f"{path}?page_size=200")

    assert response.json()["count"] >= n
    assert len(response.json()["results"]) == response.json()["count"]


def test_the_last_admin_cannot_be_demoted_or_removed(client_for, personas):
    from apps.accounts.models import Membership as _Membership

    admin = client_for("admin")
    own = _Membership.objects.get(user=personas.admin, organization=personas.org)

    demoted = admin.patch(f"/api/v1/memberships/{own.pk}/", {"role": "auditor"}, format="json")
    removed = admin.delete(f"/api/v1/memberships/{own.pk}/")

    assert demoted.status_code == 400
    assert "last admin" in demoted.json()["error"]["message"]
    assert removed.status_code == 400
    own.refresh_from_db()
    assert own.role == "admin"


def test_an_admin_can_step_down_once_another_admin_exists(client_for, personas):
    from apps.accounts.models import Membership as _Membership

    admin = client_for("admin")
    other = _Membership.objects.get(user=personas.auditor, organization=personas.org)
    admin.patch(f"/api/v1/memberships/{other.pk}/", {"role": "admin"}, format="json")
    own = _Membership.objects.get(user=personas.admin, organization=personas.org)

    response = admin.patch(f"/api/v1/memberships/{own.pk}/", {"role": "auditor"}, format="json")

    assert response.status_code == 200
    assert response.json()["role"] == "auditor"


def test_an_invitation_refuses_a_number_as_username(client_for: Any) -> None:
    response = client_for("admin").post(
        "/api/v1/invitations/", {"username": 0, "role": "auditor"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["username"] == ["Not a valid string."]
