"""What the products routes take from a request: the caller's standing, the notifier (and, from
`kit.localisation`, the caller's language).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request

from apis.products.events import Notifier
from apis.products.service import currencies
from apis.products.service.images import ImageCheck
from contracts import scopes
from contracts.currencies import CURRENCY_HEADER, Rate
from kit.auth.callers import CurrentCaller, MissingPermission, OptionalUser
from kit.auth.principal import Principal
from kit.web import InfraDep, SessionDep, service_state


@dataclass(frozen=True)
class ProductsState:
    """Opened once per app by `app.py`: the images service, called with this service's credentials."""

    images: ImageCheck


def get_image_check(request: Request) -> ImageCheck:
    return service_state(request, ProductsState).images


def get_notifier(infra: InfraDep) -> Notifier:
    return Notifier.from_settings(infra.settings)


def is_staff(user: OptionalUser) -> bool:
    """Staff see inactive products and cost prices: callers holding `read:product` or `update:product`."""
    return user is not None and (user.can("read:product") or user.can("update:product"))


async def stock_adjuster(user: CurrentCaller) -> Principal:
    """`adjust:stock` holders, and services allowed to (the orders saga reserves and releases stock)."""
    if user.has_scope(scopes.ADJUST_STOCK) or user.can("adjust:stock"):
        return user
    raise MissingPermission("adjust:stock")


async def display_rate(
    session: SessionDep,
    currency: Annotated[
        str | None,
        Header(
            alias=CURRENCY_HEADER,
            description="`EUR`: prices converted at its rate (`basePrice` keeps the base amount); "
            "a currency without a rate is a 400 `UnknownCurrency`",
        ),
    ] = None,
) -> Rate:
    return await currencies.display_rate(session, currency)


DisplayRate = Annotated[Rate, Depends(display_rate)]
NotifierDep = Annotated[Notifier, Depends(get_notifier)]
ImageCheckDep = Annotated[ImageCheck, Depends(get_image_check)]
StaffDep = Annotated[bool, Depends(is_staff)]
StockAdjuster = Annotated[Principal, Depends(stock_adjuster)]
