"""Categories: two levels at most, products only on leaves, localised names, and the seed's read shapes."""

from __future__ import annotations

from tests.apis.products.conftest import Shop


class TestHierarchy:
    async def test_a_category_under_a_child_is_refused_the_hierarchy_has_two_levels(self, shop: Shop) -> None:
        root = await shop.category()
        child = await shop.category(parent=root["id"])
        response = await shop.call(
            "POST", "/categories", json={"name": {"en": "x"}, "slug": "x", "parentId": child["id"]}
        )
        assert response.status_code == 400
        assert response.json()["code"] == "CategoryTooDeep"

    async def test_a_category_holding_products_cannot_get_children(self, shop: Shop) -> None:
        leaf = await shop.category()
        await shop.product(categories=[leaf["id"]])
        response = await shop.call(
            "POST", "/categories", json={"name": {"en": "x"}, "slug": "x-child", "parentId": leaf["id"]}
        )
        assert response.status_code == 409
        assert "has products" in response.json()["message"]

    async def test_an_unknown_parent_is_a_404(self, shop: Shop) -> None:
        body = {"name": {"en": "x"}, "slug": "orphan", "parentId": "00000000-0000-4000-8000-000000000000"}
        response = await shop.call("POST", "/categories", json=body)
        assert (response.status_code, response.json()["code"]) == (404, "CategoryNotFound")

    async def test_a_taken_slug_is_a_409(self, shop: Shop) -> None:
        await shop.category("shoes")
        response = await shop.call("POST", "/categories", json={"name": {"en": "Shoes"}, "slug": "shoes"})
        assert (response.status_code, response.json()["code"]) == (409, "SlugTaken")

    async def test_a_category_cannot_be_its_own_parent(self, shop: Shop) -> None:
        category = await shop.category()
        response = await shop.call("PUT", f"/categories/{category['id']}", json={"parentId": category["id"]})
        assert response.status_code == 409

    async def test_a_category_with_children_cannot_move_under_another(self, shop: Shop) -> None:
        root, other = await shop.category(), await shop.category()
        await shop.category(parent=root["id"])
        response = await shop.call("PUT", f"/categories/{root['id']}", json={"parentId": other["id"]})
        assert response.status_code == 409
        assert "has children" in response.json()["message"]

    async def test_a_category_moves_under_an_empty_root_and_back_to_the_top(self, shop: Shop) -> None:
        root, mover = await shop.category(), await shop.category()
        moved = await shop.call("PUT", f"/categories/{mover['id']}", json={"parentId": root["id"]})
        assert moved.json()["parentId"] == root["id"]
        back = await shop.call("PUT", f"/categories/{mover['id']}", json={"parentId": None})
        assert back.json()["parentId"] is None

    async def test_only_empty_leaves_can_be_deleted_and_unknown_ids_are_404(self, shop: Shop) -> None:
        root = await shop.category()
        child = await shop.category(parent=root["id"])
        assert (await shop.call("DELETE", f"/categories/{root['id']}")).status_code == 409
        product = await shop.product(categories=[child["id"]])
        assert (await shop.call("DELETE", f"/categories/{child['id']}")).status_code == 409
        await shop.call("DELETE", f"/{product['id']}")
        assert (await shop.call("DELETE", f"/categories/{child['id']}")).status_code == 204
        assert (await shop.call("DELETE", f"/categories/{child['id']}")).status_code == 404


class TestRead:
    async def test_the_flat_list_is_localised_sorted_by_name_and_counted(self, shop: Shop) -> None:
        root = await shop.category("maison", name={"en": "Home", "fr": "Maison"})
        leaf = await shop.category("cuisine", parent=root["id"], name={"en": "Kitchen", "fr": "Cuisine"})
        await shop.product(categories=[leaf["id"]])
        listed = (await shop.call("GET", "/categories", as_=None, headers={"Accept-Language": "fr"})).json()
        assert [(c["name"], c["isLeaf"], c["productCount"], c["subCategoryCount"]) for c in listed] == [
            ("Cuisine", True, 1, 0),
            ("Maison", False, 0, 1),
        ]
        assert "children" not in listed[0]

    async def test_the_tree_nests_children_under_their_roots(self, shop: Shop) -> None:
        root = await shop.category("b-root")
        await shop.category("a-child", parent=root["id"])
        await shop.category("c-lonely")
        tree = (await shop.call("GET", "/categories?format=tree", as_=None)).json()
        assert [(c["slug"], [k["slug"] for k in c.get("children", [])]) for c in tree] == [
            ("b-root", ["a-child"]),
            ("c-lonely", []),
        ]

    async def test_a_category_is_read_by_id_or_slug_with_parent_and_children(self, shop: Shop) -> None:
        root = await shop.category("sport", name={"en": "Sport", "ar": "رياضة"})
        child = await shop.category("running", parent=root["id"])
        by_slug = (
            await shop.call("GET", "/categories/slug/running", as_=None, headers={"Accept-Language": "ar"})
        ).json()
        assert (by_slug["id"], by_slug["parent"]["name"], by_slug["children"]) == (child["id"], "رياضة", [])
        by_id = (await shop.call("GET", f"/categories/id/{root['id']}", as_=None)).json()
        assert [c["id"] for c in by_id["children"]] == [child["id"]]
        missing = await shop.call("GET", "/categories/slug/nowhere", as_=None)
        assert (missing.status_code, missing.json()["code"]) == (404, "CategoryNotFound")
