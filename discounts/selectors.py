"""Reading discount codes: a code's terms for pricing, and whether it may be used."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext, gettext_noop

from catalog.selectors import category_chain, category_parents
from discounts.models import DiscountCode, DiscountUse

# The reasons of docs/api.md's discount_not_applicable / discount_unavailable.
UNKNOWN = "unknown"
EXPIRED = "expired"
NOT_STARTED = "not_started"
USED_UP = "used_up"
MINIMUM_NOT_MET = "minimum_not_met"
NOT_IN_CART = "not_in_cart"
CUSTOMER_LIMIT = "customer_limit"

REASON_SENTENCES = {
    UNKNOWN: gettext_noop("There is no discount code {code}."),
    EXPIRED: gettext_noop("The discount code {code} has expired."),
    NOT_STARTED: gettext_noop("The discount code {code} is not valid yet."),
    USED_UP: gettext_noop("The discount code {code} has been used up."),
    MINIMUM_NOT_MET: gettext_noop("The discount code {code} needs a subtotal of at least {minimum}."),
    NOT_IN_CART: gettext_noop("The discount code {code} is for items that are not in your cart."),
    CUSTOMER_LIMIT: gettext_noop("You have already used the discount code {code} as often as it allows."),
}
MAX_CODE_LENGTH = 40


def normalize_code(text: str) -> str:
    """What shoppers type, as codes are stored: trimmed, upper case."""
    return text.strip().upper()


def reason_sentence(reason: str, code: str, *, minimum: str = "") -> str:
    return gettext(REASON_SENTENCES[reason]).format(code=code[:MAX_CODE_LENGTH], minimum=minimum)


@dataclass(frozen=True)
class DiscountTerms:
    """What a code gives, for pricing. `product_ids`/`category_ids` empty: every product."""

    code: str
    kind: str
    value: Decimal | None
    min_subtotal_usd: Decimal | None
    product_ids: frozenset[int]
    category_ids: frozenset[int]
    parents: dict[int, int | None]

    @property
    def limited(self) -> bool:
        return bool(self.product_ids or self.category_ids)

    def covers(self, product_id: int, category_id: int | None) -> bool:
        """Whether a product's lines count for this code."""
        if not self.limited:
            return True
        if product_id in self.product_ids:
            return True
        return any(ancestor in self.category_ids for ancestor in category_chain(category_id, self.parents))


def _terms(code: DiscountCode) -> DiscountTerms:
    product_ids = frozenset(code.products.values_list("pk", flat=True))
    category_ids = frozenset(code.categories.values_list("pk", flat=True))
    parents = category_parents() if category_ids else {}
    return DiscountTerms(code.code, code.kind, code.value, code.min_subtotal_usd, product_ids, category_ids, parents)


def date_problem(code: DiscountCode, now: datetime) -> str | None:
    if not code.is_active:
        return UNKNOWN
    if code.starts_at is not None and now < code.starts_at:
        return NOT_STARTED
    if code.ends_at is not None and now >= code.ends_at:
        return EXPIRED
    return None


def held_use(holder_id: UUID, code: str) -> DiscountUse | None:
    """The use of `code` a checkout holds (reserved, even if lapsed, or committed)."""
    return (
        DiscountUse.objects.filter(holder_id=holder_id, code__code=code)
        .exclude(status=DiscountUse.Status.RELEASED)
        .first()
    )


def terms_for(code: str, *, holder_id: UUID | None, now: datetime) -> tuple[DiscountTerms | None, str | None]:
    """The terms of the cart's code and why it does not apply now, if it does not:
    unknown, not started or expired. A checkout that holds a use of the code (its payment
    reserved it) keeps its terms whatever the dates do meanwhile, so the amount it is
    charging does not change under it."""
    row = DiscountCode.objects.filter(code=normalize_code(code)).first() if code else None
    if row is None:
        return None, UNKNOWN
    problem = date_problem(row, now)
    if problem is not None and holder_id is not None and held_use(holder_id, row.code) is not None:
        problem = None
    return _terms(row), problem


def counting_uses(code: DiscountCode, *, now: datetime, excluding_holder: UUID | None = None) -> Q:
    """Uses that count against a limit: committed ones, and reservations still live."""
    live = Q(status=DiscountUse.Status.COMMITTED) | Q(status=DiscountUse.Status.RESERVED, expires_at__gt=now)
    query = Q(code=code) & live
    if excluding_holder is not None:
        query &= ~Q(holder_id=excluding_holder)
    return query


def limit_problem(code: DiscountCode, *, email: str, holder_id: UUID | None, now: datetime) -> str | None:
    """used_up or customer_limit when another use of the code would exceed its limits."""
    if code.usage_limit is not None:
        used = DiscountUse.objects.filter(counting_uses(code, now=now, excluding_holder=holder_id)).count()
        if used >= code.usage_limit:
            return USED_UP
    if code.per_customer_limit is not None and email:
        used = DiscountUse.objects.filter(counting_uses(code, now=now, excluding_holder=holder_id), email__iexact=email).count()
        if used >= code.per_customer_limit:
            return CUSTOMER_LIMIT
    return None


def code_problem(code: str, *, email: str, holder_id: UUID | None, now: datetime) -> str | None:
    """Whether a code may be applied now, apart from what the cart holds: unknown,
    not_started, expired, used_up or customer_limit (the last only with an email)."""
    row = DiscountCode.objects.filter(code=normalize_code(code)).first() if code else None
    if row is None:
        return UNKNOWN
    if holder_id is not None:
        held = held_use(holder_id, row.code)
        if held is not None and (held.status == DiscountUse.Status.COMMITTED or held.expires_at > now):
            return None  # this checkout holds a use already
    return date_problem(row, now) or limit_problem(row, email=email, holder_id=holder_id, now=now)


def with_usage(queryset: QuerySet[DiscountCode], *, now: datetime) -> QuerySet[DiscountCode]:
    """Codes annotated with `used` (committed uses) and `reserved_now` (reservations
    still live), in one query: what staff see of a code's usage."""
    return queryset.annotate(
        used=Count("uses", filter=Q(uses__status=DiscountUse.Status.COMMITTED)),
        reserved_now=Count("uses", filter=Q(uses__status=DiscountUse.Status.RESERVED, uses__expires_at__gt=now)),
    )


def usage_counts(code: DiscountCode, *, now: datetime) -> tuple[int, int]:
    """(committed uses, live reservations) of a code, for staff."""
    counted = with_usage(DiscountCode.objects.filter(pk=code.pk), now=now).get()
    return counted.used, counted.reserved_now
