"""Managing users and roles: the seed's guard rails, ours (no granting what you lack), listing, and the user
events each change records.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from apis.auth import seed
from tests.apis.auth.conftest import World, bearer


async def events_for(world: World, user_id: str) -> list[dict[str, Any]]:
    rows = await world.rows("outbox", f"WHERE key = '{user_id}' AND kind = 'event' ORDER BY seq")
    return [
        (row["body"] if isinstance(row["body"], dict) else json.loads(row["body"]))["event"] for row in rows
    ]


async def manager(world: World, *permissions: str) -> str:
    """A user whose role holds `permissions` (and no more): someone other than an ADMIN doing admin work."""
    role = await world.new_role(*permissions)
    person = await world.register("Manon Manager")
    answer = await world.client.put(
        f"/users/{person.id}", json={"roleId": role}, headers=world.headers("admin")
    )
    assert answer.status_code == 200, answer.text
    return (await world.login(person.email)).token


async def every_permission(world: World) -> list[str]:
    answer = await world.client.get("/permissions", headers=world.headers("admin"))
    return [permission["name"] for permission in answer.json()]


async def put(world: World, token: str, user_id: str, body: dict[str, Any]) -> Any:
    return await world.client.put(f"/users/{user_id}", json=body, headers=bearer(token))


CUSTOMER_PERMISSIONS = ("read:my-orders", "create:order", "read:review", "write:review", "delete:review")


class TestGuardRails:
    async def test_nobody_changes_their_own_role(self, world: World) -> None:
        admin = world.people["admin"]
        answer = await put(world, admin.token, admin.id, {"roleId": world.role_ids["Customer"]})
        assert answer.status_code == 403
        assert answer.json()["message"] == "Forbidden: You cannot change your own role."
        customer = world.people["customer"]
        answer = await put(world, customer.token, customer.id, {"roleId": world.role_ids["ADMIN"]})
        assert answer.status_code == 403

    async def test_nobody_deactivates_themselves(self, world: World) -> None:
        admin = world.people["admin"]
        answer = await world.client.delete(f"/users/{admin.id}", headers=bearer(admin.token))
        assert answer.status_code == 403
        assert answer.json()["message"] == "Forbidden: You cannot deactivate your own account."

    async def test_the_last_active_administrator_keeps_the_role(self, world: World) -> None:
        token = await manager(world, *await every_permission(world))  # outranks nobody, yet may not
        answer = await put(world, token, world.people["admin"].id, {"roleId": world.role_ids["Customer"]})
        assert answer.status_code == 403
        assert answer.json() == {
            "message": "Forbidden: Cannot change the role of the last administrator.",
            "code": "LastAdministrator",
        }

    async def test_an_administrator_may_step_down_once_another_one_exists(self, world: World) -> None:
        second = world.people["other"]
        promoted = await put(
            world, world.people["admin"].token, second.id, {"roleId": world.role_ids["ADMIN"]}
        )
        assert promoted.status_code == 200
        token = (await world.login(second.email)).token
        demoted = await put(world, token, world.people["admin"].id, {"roleId": world.role_ids["Supervisor"]})
        assert demoted.status_code == 200
        assert demoted.json()["role"]["name"] == "Supervisor"

    async def test_the_last_active_administrator_cannot_be_deactivated(self, world: World) -> None:
        token = await manager(world, *await every_permission(world))
        answer = await world.client.delete(f"/users/{world.people['admin'].id}", headers=bearer(token))
        assert answer.status_code == 403
        assert answer.json()["message"] == "Forbidden: Cannot deactivate the last active administrator."

    async def test_a_user_manager_cannot_demote_deactivate_rename_or_reactivate_an_administrator(
        self, world: World
    ) -> None:
        admin, second = world.people["admin"], world.people["other"]
        await put(world, admin.token, second.id, {"roleId": world.role_ids["ADMIN"]})
        token = await manager(world, "read:user", "write:user", "delete:user", *CUSTOMER_PERMISSIONS)
        answers = [
            await put(world, token, second.id, {"roleId": world.role_ids["Customer"]}),
            await put(world, token, second.id, {"name": "Demoted"}),
            await world.client.delete(f"/users/{second.id}", headers=bearer(token)),
        ]
        assert [a.status_code for a in answers] == [403, 403, 403]
        assert {a.json()["code"] for a in answers} == {"OutRanked"}
        assert {"permission": "write:role"} in answers[0].json()["details"]
        deactivated = await world.client.delete(f"/users/{second.id}", headers=bearer(admin.token))
        assert deactivated.status_code == 204
        back = await world.client.post(f"/users/{second.id}/activate", headers=bearer(token))
        assert (back.status_code, back.json()["code"]) == (403, "OutRanked")
        assert (
            await world.client.post(f"/users/{second.id}/activate", headers=bearer(admin.token))
        ).is_success

    async def test_a_user_manager_still_manages_the_users_it_outranks(self, world: World) -> None:
        token = await manager(world, "read:user", "write:user", "delete:user", *CUSTOMER_PERMISSIONS)
        customer = world.people["customer"]
        assert (await put(world, token, customer.id, {"name": "Renamed"})).status_code == 200
        assert (await world.client.delete(f"/users/{customer.id}", headers=bearer(token))).status_code == 204
        assert (await world.client.post(f"/users/{customer.id}/activate", headers=bearer(token))).is_success

    async def test_two_administrators_deactivating_each_other_at_once_leave_one(self, world: World) -> None:
        admin, second = world.people["admin"], world.people["other"]
        await put(world, admin.token, second.id, {"roleId": world.role_ids["ADMIN"]})
        second_token = (await world.login(second.email)).token
        answers = await asyncio.gather(
            world.client.delete(f"/users/{second.id}", headers=bearer(admin.token)),
            world.client.delete(f"/users/{admin.id}", headers=bearer(second_token)),
        )
        assert sorted(a.status_code for a in answers) == [204, 403], [a.text for a in answers]
        active = await world.rows(
            "users", "WHERE is_active AND role_id = (SELECT id FROM roles WHERE name = 'ADMIN')"
        )
        assert len(active) == 1

    async def test_two_administrators_demoting_each_other_at_once_leave_one(self, world: World) -> None:
        admin, second = world.people["admin"], world.people["other"]
        await put(world, admin.token, second.id, {"roleId": world.role_ids["ADMIN"]})
        second_token = (await world.login(second.email)).token
        demote = {"roleId": world.role_ids["Supervisor"]}
        answers = await asyncio.gather(
            put(world, admin.token, second.id, demote), put(world, second_token, admin.id, demote)
        )
        assert sorted(a.status_code for a in answers) == [200, 403], [a.text for a in answers]
        active = await world.rows(
            "users", "WHERE is_active AND role_id = (SELECT id FROM roles WHERE name = 'ADMIN')"
        )
        assert len(active) == 1

    async def test_nobody_grants_a_role_holding_permissions_they_lack(self, world: World) -> None:
        token = await manager(world, "write:user", *CUSTOMER_PERMISSIONS)
        answer = await put(world, token, world.people["other"].id, {"roleId": world.role_ids["ADMIN"]})
        assert answer.status_code == 403
        assert answer.json()["code"] == "PrivilegeEscalation"
        invite = {"name": "Eve", "email": "eve@example.com", "roleId": world.role_ids["Supervisor"]}
        assert (
            await world.client.post("/users/invite", json=invite, headers=bearer(token))
        ).status_code == 403

    async def test_nobody_puts_permissions_they_lack_into_a_role(self, world: World) -> None:
        token = await manager(world, "write:role", "read:role")
        ids = await world.permission_ids("write:user")
        created = await world.client.post(
            "/roles", json={"name": "Sneaky", "permissionIds": ids}, headers=bearer(token)
        )
        assert created.status_code == 403
        assert created.json()["details"] == [{"permission": "write:user"}]

    async def test_a_customer_edits_their_own_profile_but_nobody_elses(self, world: World) -> None:
        customer, other = world.people["customer"], world.people["other"]
        mine = await put(
            world, customer.token, customer.id, {"name": "Carla C.", "profileImage": "https://x/c.png"}
        )
        assert mine.status_code == 200
        assert (mine.json()["name"], mine.json()["profileImage"]) == ("Carla C.", "https://x/c.png")
        assert (await put(world, other.token, customer.id, {"name": "Hacked"})).status_code == 403


class TestUserEvents:
    async def test_a_profile_update_records_user_updated_with_the_seed_payload(self, world: World) -> None:
        customer = world.people["customer"]
        await put(world, customer.token, customer.id, {"name": "Carla Renamed"})
        event = (await events_for(world, customer.id))[-1]
        assert event["type"] == "USER_UPDATED"
        assert event["sourceService"] == "auth"
        assert event["payload"] == {
            "id": customer.id,
            "name": "Carla Renamed",
            "email": customer.email,
            "profileImage": None,
            "language": "en",
        }

    async def test_deactivation_records_user_deleted_and_ends_the_users_logins(self, world: World) -> None:
        victim = await world.register()
        assert (
            await world.client.delete(f"/users/{victim.id}", headers=world.headers("admin"))
        ).status_code == 204
        event = (await events_for(world, victim.id))[-1]
        assert (event["type"], event["payload"]) == ("USER_DELETED", {"id": victim.id})
        assert all(
            row["revoked_at"] for row in await world.rows("refresh_tokens", f"WHERE user_id = '{victim.id}'")
        )
        again = await world.client.delete(f"/users/{victim.id}", headers=world.headers("admin"))
        assert again.status_code == 204
        assert len(await events_for(world, victim.id)) == 1  # nothing new: it was already inactive

    async def test_a_pending_invitee_is_removed_rather_than_deactivated(self, world: World) -> None:
        user_id, _ = await world.invite("Support")
        assert (
            await world.client.delete(f"/users/{user_id}", headers=world.headers("admin"))
        ).status_code == 204
        assert await world.rows("users", f"WHERE id = '{user_id}'") == []
        assert [e["type"] for e in await events_for(world, user_id)] == ["USER_INVITED", "USER_DELETED"]

    async def test_activation_brings_a_user_back_and_records_user_updated(self, world: World) -> None:
        victim = await world.register()
        await world.client.delete(f"/users/{victim.id}", headers=world.headers("admin"))
        answer = await world.client.post(f"/users/{victim.id}/activate", headers=world.headers("admin"))
        assert answer.status_code == 200
        assert answer.json()["isActive"] is True
        assert (await events_for(world, victim.id))[-1]["type"] == "USER_UPDATED"
        assert (
            await world.client.post(
                "/login", json={"email": victim.email, "password": "correct horse battery"}
            )
        ).status_code == 200


class TestListing:
    async def test_users_come_in_pages_with_the_seed_shape(self, world: World) -> None:
        answer = await world.client.get(
            "/users", params={"limit": 3, "page": 2}, headers=world.headers("admin")
        )
        body = answer.json()
        assert len(world.people) == 7
        assert body["pagination"] == {"total": 7, "page": 2, "limit": 3, "totalPages": 3}
        user = body["data"][0]
        assert len(body["data"]) == 3
        assert set(user) == {
            "id",
            "name",
            "email",
            "profileImage",
            "language",
            "isActive",
            "createdAt",
            "updatedAt",
            "role",
        }
        assert set(user["role"]) == {"id", "name", "description", "permissions"}

    async def test_users_filter_by_role_and_activity_and_sort_by_name(self, world: World) -> None:
        victim = await world.register("Aaron")
        await world.client.delete(f"/users/{victim.id}", headers=world.headers("admin"))
        params = {
            "roleId": world.role_ids["Customer"],
            "isActive": "true",
            "sortBy": "name",
            "sortOrder": "asc",
        }
        body = (await world.client.get("/users", params=params, headers=world.headers("admin"))).json()
        assert [user["name"] for user in body["data"]] == ["Carla Customer", "Omar Other"]
        inactive = (
            await world.client.get("/users", params={"isActive": "false"}, headers=world.headers("admin"))
        ).json()
        assert [user["id"] for user in inactive["data"]] == [victim.id]


class TestRoles:
    async def test_role_names_are_unique_whatever_the_case_beyond_ascii(self, world: World) -> None:
        """Fuzzing found `ÉQUIPE-R` and `éQUIPE-R` side by side, and a rename onto one answering 500."""
        admin = world.headers("admin")
        created = await world.client.post("/roles", json={"name": "ÉQUIPE-R"}, headers=admin)
        assert created.status_code == 201, created.text
        twin = await world.client.post("/roles", json={"name": "éQUIPE-R"}, headers=admin)
        assert (twin.status_code, twin.json()["code"]) == (409, "RoleNameTaken")
        other = await world.new_role("read:product")
        for name in ("ÉQUIPE-R", "équipe-r", "E\u0301QUIPE-R"):  # the same name, exact, folded, decomposed
            renamed = await world.client.put(f"/roles/{other}", json={"name": name}, headers=admin)
            assert (renamed.status_code, renamed.json()["code"]) == (409, "RoleNameTaken"), name
        renamed = await world.client.put(
            f"/roles/{created.json()['id']}", json={"name": "Équipe-R"}, headers=admin
        )
        assert renamed.status_code == 200  # its own name in another case

    async def test_foundational_roles_can_be_neither_renamed_nor_deleted(self, world: World) -> None:
        for name in ("ADMIN", "Customer"):
            role = world.role_ids[name]
            renamed = await world.client.put(
                f"/roles/{role}", json={"name": "Boss"}, headers=world.headers("admin")
            )
            assert renamed.status_code == 403
            assert (
                renamed.json()["message"] == f"Forbidden: The foundational '{name}' role cannot be renamed."
            )
            deleted = await world.client.delete(f"/roles/{role}", headers=world.headers("admin"))
            assert deleted.status_code == 403

    async def test_administrators_always_hold_every_permission(self, world: World) -> None:
        answer = await world.client.put(
            f"/roles/{world.role_ids['ADMIN']}", json={"permissionIds": []}, headers=world.headers("admin")
        )
        assert answer.status_code == 403
        assert answer.json()["code"] == "FoundationalRole"

    async def test_a_role_in_use_cannot_be_deleted(self, world: World) -> None:
        answer = await world.client.delete(
            f"/roles/{world.role_ids['Supervisor']}", headers=world.headers("admin")
        )
        assert answer.status_code == 409
        assert answer.json()["message"] == "Cannot delete role. It is currently assigned to 1 user(s)."

    async def test_a_role_update_replaces_its_permissions_and_keeps_the_rest(self, world: World) -> None:
        role = await world.new_role("read:product", "read:stock")
        ids = await world.permission_ids("read:order")
        answer = await world.client.put(
            f"/roles/{role}",
            json={"description": "Reads orders", "permissionIds": ids},
            headers=world.headers("admin"),
        )
        body = answer.json()
        assert [p["name"] for p in body["permissions"]] == ["read:order"]
        assert body["description"] == "Reads orders"

    async def test_a_role_shows_its_first_five_members_and_how_many_it_has(self, world: World) -> None:
        for n in range(5):
            await world.register(f"Customer {n}")
        role = (
            await world.client.get(f"/roles/{world.role_ids['Customer']}", headers=world.headers("admin"))
        ).json()
        assert role["userCount"] == 7
        assert [member["name"] for member in role["users"]] == [
            "Carla Customer",
            "Omar Other",
            "Customer 0",
            "Customer 1",
            "Customer 2",
        ]
        assert set(role["users"][0]) == {"id", "name", "profileImage"}

    async def test_roles_and_permissions_are_listed_by_name(self, world: World) -> None:
        roles = (await world.client.get("/roles", headers=world.headers("admin"))).json()
        names = [role["name"] for role in roles]
        assert names == sorted(names)
        assert {"ADMIN", "Auditor", "Customer", "Supervisor", "Support"} <= set(names)  # and the manager's
        permissions = (await world.client.get("/permissions", headers=world.headers("admin"))).json()
        assert len(permissions) == len(seed.PERMISSIONS)
        assert [p["name"] for p in permissions] == sorted(p["name"] for p in permissions)
