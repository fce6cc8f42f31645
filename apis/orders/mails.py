"""The notification e-mails, per language (English, French, Arabic; English when the customer's language has
no text): a subject and paragraphs of plain text, sent with the same paragraphs as a simple HTML alternative.
Everything that comes from a customer or an order is escaped in the HTML (the seed interpolated it raw).
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from kit.localisation import DEFAULT_LANGUAGE

WELCOME = "welcome"
ORDER_PLACED = "order-placed"
ORDER_SHIPPED = "order-shipped"
ORDER_CANCELLED = "order-cancelled"
RETURN_REQUESTED = "return-requested"
RETURN_APPROVED = "return-approved"
RETURN_REJECTED = "return-rejected"
RETURN_COMPLETED = "return-completed"
RETURN_COMMENT = "return-comment"

# kind -> language -> (subject, paragraphs); `{name}`, `{order}` (first 8 characters of its id), `{total}`,
# `{link}`, `{comments}` (staff's comments on a decision), `{comment}` (a staff comment's text) are filled in.
TEXTS: dict[str, dict[str, tuple[str, tuple[str, ...]]]] = {
    WELCOME: {
        "en": ("Welcome to the shop, {name}!", ("Hello {name},", "Your account is ready.", "{link}")),
        "fr": (
            "Bienvenue dans la boutique, {name} !",
            ("Bonjour {name},", "Votre compte est prêt.", "{link}"),
        ),
        "ar": ("مرحبًا بك في المتجر يا {name}!", ("مرحبًا {name}،", "حسابك جاهز.", "{link}")),
    },
    ORDER_PLACED: {
        "en": (
            "Your order #{order} is confirmed",
            (
                "Hello {name},",
                "Thank you for your order #{order} of {total}.",
                "{lines}",
                "Follow it: {link}",
            ),
        ),
        "fr": (
            "Votre commande n°{order} est confirmée",
            (
                "Bonjour {name},",
                "Merci pour votre commande n°{order} de {total}.",
                "{lines}",
                "Suivi : {link}",
            ),
        ),
        "ar": (
            "تم تأكيد طلبك رقم {order}",
            ("مرحبًا {name}،", "شكرًا لطلبك رقم {order} بمبلغ {total}.", "{lines}", "تتبع الطلب: {link}"),
        ),
    },
    ORDER_SHIPPED: {
        "en": (
            "Your order #{order} has shipped",
            ("Hello {name},", "Your order #{order} is on its way.", "{link}"),
        ),
        "fr": (
            "Votre commande n°{order} est expédiée",
            ("Bonjour {name},", "Votre commande n°{order} est en route.", "{link}"),
        ),
        "ar": ("تم شحن طلبك رقم {order}", ("مرحبًا {name}،", "طلبك رقم {order} في الطريق إليك.", "{link}")),
    },
    ORDER_CANCELLED: {
        "en": (
            "Your order #{order} has been cancelled",
            ("Hello {name},", "Your order #{order} has been cancelled; any payment is refunded.", "{link}"),
        ),
        "fr": (
            "Votre commande n°{order} est annulée",
            (
                "Bonjour {name},",
                "Votre commande n°{order} est annulée ; tout paiement est remboursé.",
                "{link}",
            ),
        ),
        "ar": (
            "تم إلغاء طلبك رقم {order}",
            ("مرحبًا {name}،", "تم إلغاء طلبك رقم {order} وسيُسترد أي مبلغ مدفوع.", "{link}"),
        ),
    },
    RETURN_REQUESTED: {
        "en": (
            "We have received your return request for order #{order}",
            ("Hello {name},", "We will review your return request for order #{order}.", "{link}"),
        ),
        "fr": (
            "Nous avons reçu votre demande de retour pour la commande n°{order}",
            (
                "Bonjour {name},",
                "Nous allons étudier votre demande de retour pour la commande n°{order}.",
                "{link}",
            ),
        ),
        "ar": (
            "استلمنا طلب الإرجاع الخاص بالطلب رقم {order}",
            ("مرحبًا {name}،", "سندرس طلب الإرجاع الخاص بالطلب رقم {order}.", "{link}"),
        ),
    },
    RETURN_APPROVED: {
        "en": (
            "Your return for order #{order} is approved",
            ("Hello {name},", "Your return request for order #{order} is approved.", "{comments}", "{link}"),
        ),
        "fr": (
            "Votre retour pour la commande n°{order} est accepté",
            (
                "Bonjour {name},",
                "Votre demande de retour pour la commande n°{order} est acceptée.",
                "{comments}",
                "{link}",
            ),
        ),
        "ar": (
            "تمت الموافقة على إرجاع الطلب رقم {order}",
            (
                "مرحبًا {name}،",
                "تمت الموافقة على طلب الإرجاع الخاص بالطلب رقم {order}.",
                "{comments}",
                "{link}",
            ),
        ),
    },
    RETURN_REJECTED: {
        "en": (
            "Update on your return for order #{order}",
            (
                "Hello {name},",
                "Your return request for order #{order} was not accepted.",
                "{comments}",
                "{link}",
            ),
        ),
        "fr": (
            "Du nouveau sur votre retour pour la commande n°{order}",
            (
                "Bonjour {name},",
                "Votre demande de retour pour la commande n°{order} n'a pas été acceptée.",
                "{comments}",
                "{link}",
            ),
        ),
        "ar": (
            "مستجدات إرجاع الطلب رقم {order}",
            ("مرحبًا {name}،", "لم يُقبل طلب الإرجاع الخاص بالطلب رقم {order}.", "{comments}", "{link}"),
        ),
    },
    RETURN_COMPLETED: {
        "en": (
            "Your return for order #{order} is complete",
            (
                "Hello {name},",
                "Your return for order #{order} is complete; any refund is on its way.",
                "{link}",
            ),
        ),
        "fr": (
            "Votre retour pour la commande n°{order} est terminé",
            (
                "Bonjour {name},",
                "Votre retour pour la commande n°{order} est terminé ; tout remboursement est en route.",
                "{link}",
            ),
        ),
        "ar": (
            "اكتمل إرجاع الطلب رقم {order}",
            ("مرحبًا {name}،", "اكتمل إرجاع الطلب رقم {order} وأي مبلغ مسترد في طريقه إليك.", "{link}"),
        ),
    },
    RETURN_COMMENT: {
        "en": (
            "New comment on your return for order #{order}",
            (
                "Hello {name},",
                "Our team commented on your return request for order #{order}:",
                "{comment}",
                "Answer it: {link}",
            ),
        ),
        "fr": (
            "Nouveau commentaire sur votre retour pour la commande n°{order}",
            (
                "Bonjour {name},",
                "Notre équipe a commenté votre demande de retour pour la commande n°{order} :",
                "{comment}",
                "Répondre : {link}",
            ),
        ),
        "ar": (
            "تعليق جديد على إرجاع الطلب رقم {order}",
            (
                "مرحبًا {name}،",
                "علّق فريقنا على طلب الإرجاع الخاص بالطلب رقم {order}:",
                "{comment}",
                "للرد: {link}",
            ),
        ),
    },
}


@dataclass(frozen=True)
class Mail:
    """One notification to render: what kind, to whom, in which language, with which facts."""

    kind: str
    message_id: str
    to: str
    language: str
    facts: dict[str, str]


def texts(kind: str, language: str) -> tuple[str, tuple[str, ...]]:
    by_language = TEXTS[kind]
    return by_language.get(language) or by_language[DEFAULT_LANGUAGE]


def render(mail: Mail, *, sender: str) -> EmailMessage:
    """The message: plain text, and the same paragraphs as HTML (escaped); empty paragraphs are left out."""
    subject, paragraphs = texts(mail.kind, mail.language)
    facts = _Facts(mail.facts)
    filled = [paragraph.format_map(facts).strip() for paragraph in paragraphs]
    filled = [paragraph for paragraph in filled if paragraph]
    message = EmailMessage()
    message["Message-ID"] = mail.message_id
    message["From"] = sender
    message["To"] = mail.to
    message["Subject"] = subject.format_map(facts)
    message["Date"] = formatdate(usegmt=True)
    message.set_content("\n\n".join(filled) + "\n")
    language = mail.language if mail.language in TEXTS[mail.kind] else DEFAULT_LANGUAGE
    direction = ' dir="rtl"' if language == "ar" else ""
    body = "".join(_html_paragraph(paragraph, mail.facts.get("link", "")) for paragraph in filled)
    message.add_alternative(f"<!doctype html><html{direction}><body>{body}</body></html>\n", subtype="html")
    message["Content-Language"] = language  # after the parts: making them moves Content-* headers down
    return message


def _html_paragraph(paragraph: str, link: str) -> str:
    escaped = html.escape(paragraph).replace("\n", "<br>")
    if link and html.escape(link) in escaped:
        anchor = f'<a href="{html.escape(link, quote=True)}">{html.escape(link)}</a>'
        escaped = escaped.replace(html.escape(link), anchor)
    return f"<p>{escaped}</p>"


class _Facts(dict[str, str]):
    """A mail's facts, with an empty text for one it lacks (a template asks for more than an event has)."""

    def __missing__(self, key: str) -> str:
        return ""


def order_facts(order: dict[str, Any], link: str) -> dict[str, str]:
    """What the order templates show, from an `order_events` payload (an order as the API answers it)."""
    currency = order.get("displayCurrency") or "USD"
    total = order.get("displayTotalAmount") or order.get("totalAmount") or ""
    lines = "\n".join(
        f"{item.get('quantity')} x {item.get('productName') or item.get('sku') or ''}"
        for item in order.get("items") or []
        if isinstance(item, dict)
    )
    return {
        "name": str(order.get("customerName") or order.get("guestName") or ""),
        "order": str(order.get("orderId") or order.get("id") or "")[:8],  # a return's event names its order
        "total": f"{total} {currency}".strip(),
        "lines": lines,
        "link": link,
        "comments": str(order.get("adminComments") or ""),
        "comment": _comment_text(order.get("comment")),
    }


def _comment_text(comment: Any) -> str:
    """A comment's text, or a word that it is a picture (a comment event's `comment`)."""
    if not isinstance(comment, dict):
        return ""
    return str(comment.get("commentText") or comment.get("imageUrl") or "")
