"""What the products routes take from a request: the caller's language and standing, the notifier."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header

from apis.products.events import Notifier
from apis.products.localisation import preferred_language
from kit.auth.callers import CurrentUser, MissingPermission, OptionalUser
from kit.auth.principal import Principal
from kit.web import InfraDep


def get_notifier(infra: InfraDep) -> Notifier:
    return Notifier.from_settings(infra.settings)


def get_language(
    accept_language: Annotated[
        str | None, Header(description="`fr-FR,fr;q=0.9`: texts in French where they exist")
    ] = None,
) -> str:
    """`en`, `fr` or `ar`, from `Accept-Language` (English when none fits)."""
    return preferred_language(accept_language)


def is_staff(user: OptionalUser) -> bool:
    """Staff see inactive products and cost prices: callers holding `read:product` or `update:product`."""
    return user is not None and (user.can("read:product") or user.can("update:product"))


async def stock_adjuster(user: CurrentUser) -> Principal:
    """`adjust:stock` holders, and other services (the orders saga reserves and releases stock)."""
    if user.is_service or user.can("adjust:stock"):
        return user
    raise MissingPermission("adjust:stock")


NotifierDep = Annotated[Notifier, Depends(get_notifier)]
LanguageDep = Annotated[str, Depends(get_language)]
StaffDep = Annotated[bool, Depends(is_staff)]
StockAdjuster = Annotated[Principal, Depends(stock_adjuster)]
