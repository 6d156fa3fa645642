"""Discount code uses: reserved with a checkout's payment request, committed with its
order, released with its reservation (invariant 16).

Locks (shop/locks.py): the code's row, after the cart and payment rows and before any
stock row, so a checkout that reserves a use and stock never deadlocks with another.
A use's own row is only written by the checkout holding the cart locked.
"""
from __future__ import annotations

import logging
from datetime import datetime
from uuid import UUID

from django.db import transaction
from django.utils.translation import gettext

from discounts.models import DiscountCode, DiscountUse
from discounts.selectors import EXPIRED, UNKNOWN, date_problem, limit_problem, normalize_code, reason_sentence
from shop.errors import DiscountUnavailable

log = logging.getLogger(__name__)


def _lock_code(code: str) -> DiscountCode | None:
    return DiscountCode.objects.select_for_update().filter(code=normalize_code(code)).first()


def _unavailable(reason: str, code: str) -> DiscountUnavailable:
    return DiscountUnavailable(reason_sentence(reason, normalize_code(code)) + gettext(" Remove it to pay without it."), reason=reason)


def reserve_use(*, holder_id: UUID, code: str, email: str, expires_at: datetime, now: datetime) -> DiscountUse:
    """Hold one use of `code` for the checkout `holder_id` until `expires_at`, or raise
    DiscountUnavailable (unknown, not_started, expired, used_up, customer_limit) and
    change nothing. A use the checkout already holds is extended; one that lapsed is
    taken again only if the limits still allow. Any use of another code is released."""
    with transaction.atomic():
        row = _lock_code(code)
        if row is None:
            raise _unavailable(UNKNOWN, code)
        held = DiscountUse.objects.filter(holder_id=holder_id).exclude(status=DiscountUse.Status.RELEASED).first()
        if held is not None and held.code_id != row.pk:
            _release(held)
            held = None
        if held is not None and held.status == DiscountUse.Status.COMMITTED:
            return held
        if held is not None and held.expires_at > now:
            held.expires_at = max(held.expires_at, expires_at)
            held.email = email
            held.save(update_fields=["expires_at", "email", "updated_at"])
            return held
        problem = date_problem(row, now) or limit_problem(row, email=email, holder_id=holder_id, now=now)
        if problem is not None:
            raise _unavailable(problem, code)
        if held is not None:  # lapsed, and the limits still allow it: held again
            held.expires_at, held.email = expires_at, email
            held.save(update_fields=["expires_at", "email", "updated_at"])
            return held
        return DiscountUse.objects.create(code=row, holder_id=holder_id, email=email, expires_at=expires_at)


def extend_use(*, holder_id: UUID, expires_at: datetime, now: datetime) -> None:
    """The checkout's reservation was extended: a live reserved use goes with it. (A
    lapsed one stays lapsed: it may no longer fit the limits; the next payment request
    reserves it again or says it cannot.)"""
    DiscountUse.objects.filter(
        holder_id=holder_id, status=DiscountUse.Status.RESERVED, expires_at__gt=now, expires_at__lt=expires_at
    ).update(expires_at=expires_at)


def _release(use: DiscountUse) -> None:
    use.status = DiscountUse.Status.RELEASED
    use.save(update_fields=["status", "updated_at"])


def release_uses(*, holder_id: UUID) -> int:
    """The checkout ended without an order (cancelled, abandoned) or changed its code:
    its reserved use no longer counts. Returns how many were released."""
    return DiscountUse.objects.filter(holder_id=holder_id, status=DiscountUse.Status.RESERVED).update(
        status=DiscountUse.Status.RELEASED
    )


def commit_use(*, holder_id: UUID, code: str, email: str, now: datetime) -> DiscountUse:
    """The checkout's payment succeeded: its use of `code` becomes the order's. A use
    whose reservation lapsed (or was released) is taken again if the limits allow;
    otherwise DiscountUnavailable, and the caller refunds (the code would be used more
    often than its limit). Dates are not checked again: the payment was made while the
    use was held, or it would not have been asked for."""
    with transaction.atomic():
        row = _lock_code(code)
        if row is None:
            raise _unavailable(UNKNOWN, code)
        held = DiscountUse.objects.filter(holder_id=holder_id).exclude(status=DiscountUse.Status.RELEASED).first()
        if held is not None and held.code_id == row.pk:
            if held.status == DiscountUse.Status.COMMITTED or held.expires_at > now:
                held.status = DiscountUse.Status.COMMITTED
                held.save(update_fields=["status", "updated_at"])
                return held
        elif held is not None:
            _release(held)
            held = None
        problem = limit_problem(row, email=email, holder_id=holder_id, now=now)
        if problem is None and not row.is_active:
            problem = EXPIRED
        if problem is not None:
            raise _unavailable(problem, code)
        if held is None:
            return DiscountUse.objects.create(
                code=row, holder_id=holder_id, email=email, status=DiscountUse.Status.COMMITTED, expires_at=now
            )
        held.status = DiscountUse.Status.COMMITTED
        held.save(update_fields=["status", "updated_at"])
        return held


def attach_order(*, holder_id: UUID, order_id: int) -> None:
    """The order made from the checkout that committed a use."""
    DiscountUse.objects.filter(holder_id=holder_id, status=DiscountUse.Status.COMMITTED).update(order_id=order_id)


def give_back_use(*, order_id: int) -> int:
    """The order was cancelled: its use of a code no longer counts against the code's
    limits (the shopper may use it again). Returns how many uses were given back."""
    return DiscountUse.objects.filter(order_id=order_id, status=DiscountUse.Status.COMMITTED).update(
        status=DiscountUse.Status.RELEASED
    )


def anonymise_uses(*, emails_by_order: dict[int, str]) -> int:
    """The customer of these orders deleted their account: their uses keep counting
    against the codes' total limits, under the orders' anonymous emails (so they no longer
    count against a per-customer limit of the person). Returns how many changed."""
    changed = 0
    for order_id, email in emails_by_order.items():
        changed += DiscountUse.objects.filter(order_id=order_id).update(email=email)
    return changed
