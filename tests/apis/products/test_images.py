"""Images of our images service on products: the count of an image's uses, which the images service asks
before it deletes one, waits for an attachment in flight, so no deletion slips between a check and a commit.
"""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncEngine

from apis.products.events import Notifier
from apis.products.schemas.products import ImageCreate
from apis.products.service import attachments, images
from apis.products.service.images import ImageCheck
from contracts.images import ImagesClient
from kit import db
from tests.apis.products.conftest import ON_BOTH_DATABASES, Shop

pytestmark = ON_BOTH_DATABASES
NAME = f"{'d' * 32}.png"


class SlowImages(ImagesClient):
    """An images service that says the image exists, once the test lets it answer."""

    def __init__(self) -> None:
        self.asked, self.answer = asyncio.Event(), asyncio.Event()

    async def exists(self, name: str) -> bool:
        self.asked.set()
        await self.answer.wait()
        return True


async def test_a_count_of_uses_waits_for_an_attachment_in_flight(shop: Shop, engine: AsyncEngine) -> None:
    product = await shop.product()
    slow = SlowImages()
    sessions = db.session_factory(engine)
    async with sessions() as attaching, sessions() as counting:
        attach = asyncio.create_task(
            attachments.add_images(
                attaching,
                Notifier(),
                ImageCheck(slow, ""),
                product["id"],
                [ImageCreate(image_url=f"/images/{NAME}")],
            )
        )
        await slow.asked.wait()  # the attachment checked the image and has not committed yet
        count = asyncio.create_task(images.uses(counting, [NAME]))
        await asyncio.sleep(0.5)
        assert not count.done(), "the count must wait for the attachment"
        slow.answer.set()
        await attach
        assert await count == {NAME: [product["id"]]}


async def test_uses_leave_out_other_images_and_need_service_credentials(shop: Shop) -> None:
    await shop.product()  # shows another site's image
    answer = await shop.call("POST", "/internal/image-uses", as_="service", json={"names": [NAME]})
    assert (answer.status_code, answer.json()) == (200, {})
    refused = await shop.call("POST", "/internal/image-uses", as_="admin", json={"names": [NAME]})
    assert refused.status_code == 403
