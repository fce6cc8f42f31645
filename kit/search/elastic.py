"""The search index on Elasticsearch: generations `<alias>-v<mapping>-<n>` behind the alias `<alias>`.

The alias (from the URL's path, `products` by default) is what searches read. A rebuild fills a new
generation that carries the alias `<alias>-building`, then moves `<alias>` to it in one `update_aliases`
call and deletes the old one. Writes go to every index behind either alias, so a product changed during a
rebuild reaches the new generation too, and the rebuild's own (older) copies are sent as `create`, which
never overwrites one of those writes.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterable, Callable, Coroutine, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Concatenate, Literal, ParamSpec, Self, TypeVar
from urllib.parse import urlsplit, urlunsplit

from elasticsearch import AsyncElasticsearch, BadRequestError, ConnectionError, ConnectionTimeout

from kit.search import (
    FacetCount,
    PriceRangeCount,
    SearchDocument,
    SearchPage,
    SearchQuery,
    SearchUnavailable,
)
from kit.search.elastic_body import (
    ADDED_FIELDS,
    MAPPING_VERSION,
    REFRESH_INTERVAL,
    SETTINGS,
    STEMMERS,
    mappings,
    price_ranges,
    product_body,
    search_body,
    suggest_query,
)

STAMPS_PAGE = 5_000
SUGGEST_CANDIDATES = 100  # the best-scored names, of which the shortest are suggested


class BulkFailed(RuntimeError):
    """Elasticsearch refused some of a bulk request's actions."""


P = ParamSpec("P")
R = TypeVar("R")


def _reachable(
    method: Callable[Concatenate[ElasticSearch, P], Coroutine[Any, Any, R]],
) -> Callable[Concatenate[ElasticSearch, P], Coroutine[Any, Any, R]]:
    """`method`, with a cluster that cannot be reached (after the client's retries) as `SearchUnavailable`."""

    @functools.wraps(method)
    async def call(self: ElasticSearch, /, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await method(self, *args, **kwargs)
        except (ConnectionError, ConnectionTimeout) as error:
            raise SearchUnavailable(f"The search engine at {self.address} cannot be reached.") from error

    return call


class ElasticSearch:
    def __init__(self, url: str, *, alias: str | None = None, refresh: bool = True) -> None:
        parts = urlsplit(url)
        self.alias = alias or parts.path.strip("/") or "products"
        self._building = f"{self.alias}-building"
        self._refresh: Literal["wait_for", False] = "wait_for" if refresh else False
        self.address = parts.netloc
        self._client = AsyncElasticsearch(
            urlunsplit((parts.scheme, parts.netloc, "", "", "")),
            request_timeout=10,
            max_retries=3,
            retry_on_timeout=True,
        )

    @property
    def client(self) -> AsyncElasticsearch:
        return self._client

    def _generation(self, number: int) -> str:
        return f"{self.alias}-v{MAPPING_VERSION}-{number}"

    async def _has_stemmers(self) -> bool:
        try:
            await self._client.indices.analyze(analyzer=STEMMERS["en"], text="shoes")
        except BadRequestError:
            return False
        return True

    async def _create(self, index: str, alias: str) -> None:
        stemmers = await self._has_stemmers()
        await self._client.indices.create(
            index=index, settings=SETTINGS, mappings=mappings(stemmers=stemmers), aliases={alias: {}}
        )

    @_reachable
    async def ensure(self) -> None:
        """The first generation behind the alias, unless the alias exists (a restart keeps the index, and
        brings its dynamic settings up to date).
        """
        if await self._client.indices.exists_alias(name=self.alias):
            await self._client.indices.put_settings(
                index=self.alias, settings={"refresh_interval": REFRESH_INTERVAL}
            )
            # fields added since the generation was made (a strict mapping refuses them otherwise)
            await self._client.indices.put_mapping(index=self.alias, properties=ADDED_FIELDS)
            return
        try:
            await self._create(self._generation(1), self.alias)
        except BadRequestError as error:
            # A fixed first name: of two services starting at once, one creates it and the other finds it.
            if error.error != "resource_already_exists_exception":
                raise

    @_reachable
    async def ping(self) -> None:
        await self._client.cluster.health(timeout="5s")

    async def _behind(self, *aliases: str) -> list[str]:
        """The generations that carry one of `aliases`."""
        found = await self._client.indices.get_alias(index=f"{self.alias}-v*", allow_no_indices=True)
        return sorted(index for index, entry in found.body.items() if set(entry["aliases"]) & set(aliases))

    async def _targets(self) -> list[str]:
        """Every index a write must reach: the live generation and one being built."""
        targets = await self._behind(self.alias, self._building)
        if not targets:
            await self.ensure()
            targets = await self._behind(self.alias, self._building)
        return targets

    async def _bulk(self, operations: list[dict[str, Any]], *, refresh: Literal["wait_for", False]) -> None:
        if not operations:
            return
        answer = await self._client.bulk(operations=operations, refresh=refresh)
        if not answer["errors"]:
            return
        fine = {"delete": {404}, "create": {409}}  # a missing id to delete; a newer write already there
        failures = [
            result
            for item in answer["items"]
            for action, result in item.items()
            if result.get("error") and result["status"] not in fine.get(action, set())
        ]
        if failures:
            raise BulkFailed(f"{len(failures)} search index writes failed, first: {failures[0]}")

    @_reachable
    async def upsert(self, documents: Sequence[SearchDocument]) -> None:
        operations: list[dict[str, Any]] = []
        for index in await self._targets() if documents else []:
            for document in documents:
                operations += [{"index": {"_index": index, "_id": document.id}}, product_body(document)]
        await self._bulk(operations, refresh=self._refresh)

    @_reachable
    async def delete(self, product_ids: Sequence[str]) -> None:
        indices = await self._targets() if product_ids else []
        operations = [{"delete": {"_index": index, "_id": id_}} for index in indices for id_ in product_ids]
        await self._bulk(operations, refresh=self._refresh)

    @_reachable
    async def search(self, query: SearchQuery) -> SearchPage:
        answer = await self._client.search(index=self.alias, **search_body(query))
        aggregations = answer["aggregations"]
        attributes: dict[str, list[FacetCount]] = {}
        for bucket in aggregations["attributes"]["buckets"]:
            key, _, value = bucket["key"].partition(":")
            attributes.setdefault(key, []).append(FacetCount(value, bucket["doc_count"]))
        buckets = aggregations["prices"]["ranges"]["buckets"]
        return SearchPage(
            total=answer["hits"]["total"]["value"],
            hits=[hit["_source"]["document"] for hit in answer["hits"]["hits"]],
            categories=[FacetCount(b["key"], b["doc_count"]) for b in aggregations["categories"]["buckets"]],
            attributes=dict(sorted(attributes.items())),
            price_ranges=[
                PriceRangeCount(key, low, high, buckets[key]["products"]["doc_count"])
                for key, low, high in price_ranges()
                if buckets[key]["products"]["doc_count"] > 0
            ],
        )

    @_reachable
    async def suggest(self, prefix: str, *, language: str, limit: int = 10) -> list[str]:
        """The best-matching names, shortest first."""
        query = suggest_query(prefix, language)
        if query is None or limit <= 0:
            return []
        answer = await self._client.search(
            index=self.alias, query=query, size=SUGGEST_CANDIDATES, source_includes=["names"]
        )
        names = [hit["_source"]["names"] for hit in answer["hits"]["hits"]]
        shown = {name for found in names if (name := found.get(language) or found.get("en"))}
        return sorted(shown, key=lambda name: (len(name), name))[:limit]

    @_reachable
    async def stamps(self) -> dict[str, datetime]:
        stamps: dict[str, datetime] = {}
        after: list[Any] | None = None
        while True:
            answer = await self._client.search(
                index=self.alias,
                query={"match_all": {}},
                sort=[{"id": "asc"}],
                size=STAMPS_PAGE,
                source_includes=["updated_at"],
                search_after=after,
            )
            hits = answer["hits"]["hits"]
            for hit in hits:
                stamps[hit["_id"]] = datetime.fromisoformat(hit["_source"]["updated_at"])
            if len(hits) < STAMPS_PAGE:
                return stamps
            after = hits[-1]["sort"]

    async def _next_generation(self) -> str:
        existing = await self._client.indices.get(index=f"{self.alias}-v*", allow_no_indices=True)
        numbers = [int(name.rsplit("-", 1)[1]) for name in existing.body if name.rsplit("-", 1)[1].isdigit()]
        return self._generation(max(numbers, default=0) + 1)

    @_reachable
    async def rebuild(self, batches: AsyncIterable[Sequence[SearchDocument]]) -> int:
        await self.ensure()
        new = await self._next_generation()
        await self._create(new, self._building)
        count = 0
        try:
            async for batch in batches:
                operations: list[dict[str, Any]] = []
                for document in batch:
                    operations += [{"create": {"_index": new, "_id": document.id}}, product_body(document)]
                await self._bulk(operations, refresh=False)
                count += len(batch)
            await self._client.indices.refresh(index=new)
            old = await self._behind(self.alias)
            await self._client.indices.update_aliases(
                actions=[
                    *({"remove": {"index": index, "alias": self.alias}} for index in old),
                    {"add": {"index": new, "alias": self.alias}},
                    {"remove": {"index": new, "alias": self._building}},
                ]
            )
        except BaseException:
            await self._client.options(ignore_status=404).indices.delete(index=new)
            raise
        if old:
            await self._client.options(ignore_status=404).indices.delete(index=old)
        return count

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._client.close()
