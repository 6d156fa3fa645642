"""Staff run the discount codes: what each gives, when, for whom and how often, with its
uses so far. Uses are written only by checkouts (discounts.services: reserved with the
payment request, committed with the order, released with the reservation), so they are
shown here and never edited. A code that has been used cannot be deleted (its uses point
at it); it is deactivated instead, and its text is fixed (carts and orders name it).

Discounts know orders only by id (orders is a higher layer): the order admin replaces
`order_numbers` to show and link them by number (orders.admin)."""
from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, gettext_lazy as _, ngettext
from moneyed import Money

from currencies.money import format_money
from discounts.models import DiscountCode, DiscountUse
from discounts.selectors import normalize_code, usage_counts, with_usage

USES_SHOWN = 20  # on a code's page; the rest are on the uses list it links to

Kind = DiscountCode.Kind
Status = DiscountUse.Status


def usd_text(amount: Decimal) -> str:
    return format_money(Money(amount, "USD"), "en_US")


def plain_number(value: Decimal) -> str:
    """10.00 -> "10", 7.50 -> "7.5"."""
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def value_text(kind: str, value: Decimal | None) -> str:
    """What a code gives, as staff read it: "10%", "$15.00 off", "Free shipping"."""
    if kind == Kind.FREE_SHIPPING:
        return gettext("Free shipping")
    if value is None:
        return "—"
    if kind == Kind.PERCENT:
        return f"{plain_number(value)}%"
    return gettext("%(amount)s off") % {"amount": usd_text(value)}


def usage_text(committed: int, reserved: int, limit: int | None) -> str:
    """"2 / 5 used, 1 reserved (2 left)"; "2 used (no limit), 1 reserved"."""
    if limit is None:
        return gettext("%(used)s used (no limit), %(reserved)s reserved") % {"used": committed, "reserved": reserved}
    left = max(limit - committed - reserved, 0)
    return gettext("%(used)s / %(limit)s used, %(reserved)s reserved (%(left)s left)") % {
        "used": committed, "limit": limit, "reserved": reserved, "left": left,
    }


def day_text(moment) -> str:
    return date_format(timezone.localtime(moment), "j M Y").replace(" ", "\u00a0")


def use_status_text(use: DiscountUse, now) -> str:
    if use.status == Status.RESERVED:
        if use.expires_at is not None and use.expires_at > now:
            return gettext("Reserved until %(moment)s") % {"moment": date_format(timezone.localtime(use.expires_at), "j M Y, H:i")}
        return gettext("Reserved, lapsed (no longer counts)")
    return use.get_status_display().capitalize()


def order_url(order_id: int) -> str | None:
    try:
        return reverse("admin:orders_order_change", args=[order_id])
    except NoReverseMatch:  # the orders admin is not installed
        return None


def order_link(order_id: int | None, number: str | None = None) -> str:
    if order_id is None:
        return "—"
    label = number or gettext("order id %(id)s") % {"id": order_id}
    url = order_url(order_id)
    return format_html('<a href="{}">{}</a>', url, label) if url else label


# --- the form -----------------------------------------------------------------------------


class DiscountCodeForm(forms.ModelForm):
    """Codes are stored upper-case (shoppers' input is matched that way), and what the
    kind takes is checked here, next to the fields, before the database's own checks."""

    class Meta:
        model = DiscountCode
        fields = [
            "code", "kind", "value", "is_active", "min_subtotal_usd", "categories", "products",
            "starts_at", "ends_at", "usage_limit", "per_customer_limit",
        ]

    def clean_code(self) -> str:
        code = normalize_code(self.cleaned_data.get("code") or "")
        if any(character.isspace() for character in code):
            raise forms.ValidationError(_("A code has no spaces: shoppers type it as one word."))
        return code

    def clean(self):
        cleaned = super().clean()
        kind, value = cleaned.get("kind"), cleaned.get("value")
        if "value" in cleaned:  # the value itself was valid (a number, not negative)
            if kind == Kind.PERCENT:
                if value is None:
                    self.add_error("value", gettext("A percentage needs a value: %(value)s for %(value)s%% off.") % {"value": 10})
                elif not Decimal(0) < value <= Decimal(100):
                    self.add_error("value", _("A percentage is more than 0 and at most 100."))
            elif kind == Kind.FIXED:
                if value is None:
                    self.add_error("value", _("A fixed amount needs a value in USD: 15 for $15.00 off."))
                elif value <= 0:
                    self.add_error("value", _("A fixed amount is more than 0."))
            elif kind == Kind.FREE_SHIPPING and value is not None:
                self.add_error("value", _("Free shipping takes no value: leave it empty."))
        starts, ends = cleaned.get("starts_at"), cleaned.get("ends_at")
        if starts and ends and ends <= starts:
            self.add_error("ends_at", _("The code must end after it starts."))
        return cleaned


# --- the list -----------------------------------------------------------------------------


class ValidityFilter(admin.SimpleListFilter):
    """Where a code's dates put it now (whether it is switched on is the "active" filter)."""

    title = _("validity")
    parameter_name = "validity"

    def lookups(self, request, model_admin):
        return [("current", _("Current")), ("scheduled", _("Scheduled")), ("expired", _("Expired"))]

    def queryset(self, request, queryset):
        now = timezone.now()
        started = Q(starts_at__isnull=True) | Q(starts_at__lte=now)
        ended = Q(ends_at__isnull=False, ends_at__lte=now)
        if self.value() == "current":
            return queryset.filter(started).exclude(ended)
        if self.value() == "scheduled":
            return queryset.filter(starts_at__gt=now).exclude(ended)
        if self.value() == "expired":
            return queryset.filter(ended)
        return queryset


@admin.register(DiscountCode)
class DiscountCodeAdmin(admin.ModelAdmin):
    form = DiscountCodeForm
    # The discount column says the kind too ("10%", "$15.00 off", "Free shipping").
    list_display = [
        "code", "value_display", "minimum", "validity", "uses_display", "per_customer", "active",
    ]
    list_filter = ["kind", "is_active", ValidityFilter]
    search_fields = ["code"]
    ordering = ["code"]
    autocomplete_fields = ["categories", "products"]
    actions = ["deactivate", "activate"]
    fieldsets = [
        (None, {"fields": ["code", "kind", "value", "is_active"]}),
        (_("Conditions"), {"fields": ["min_subtotal_usd", "categories", "products"],
                        "description": _("Leave categories and products empty for a code on the whole cart.")}),
        (_("Dates"), {"fields": ["starts_at", "ends_at"], "description": _("Empty: from now on / no end.")}),
        (_("Limits"), {"fields": ["usage_limit", "per_customer_limit"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[DiscountCode]:
        return with_usage(super().get_queryset(request), now=timezone.now())

    def get_fieldsets(self, request: HttpRequest, obj: DiscountCode | None = None):
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is not None:
            fieldsets.append((_("Uses"), {
                "fields": ["usage", "recent_uses", "created_at"],
                "description": _(
                    "Checkouts reserve a use when the shopper pays, and commit it with the order. "
                    "A code that has been used cannot be deleted: untick “Is active” to stop it."
                ),
            }))
        return fieldsets

    def get_readonly_fields(self, request: HttpRequest, obj: DiscountCode | None = None):
        fields = ["usage", "recent_uses", "created_at"]
        if obj is not None and self._has_uses(obj):
            fields.insert(0, "code")  # carts and orders name the code: fixed once used
        return fields

    def has_delete_permission(self, request: HttpRequest, obj: DiscountCode | None = None) -> bool:
        if obj is not None and self._has_uses(obj):
            return False  # its uses point at it: deactivate it instead
        return super().has_delete_permission(request, obj)

    def get_deleted_objects(self, objs, request: HttpRequest):
        # Deleting from the list: say which codes have been used and what to do instead,
        # rather than Django's "your account doesn't have permission to delete" them.
        deleted, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        used = [(code, code.uses.count()) for code in objs if self._has_uses(code)]
        if used:
            perms_needed = set()
            protected = [
                ngettext("%(code)s: used %(count)s time(s); deactivate it instead", "%(code)s: used %(count)s time(s); deactivate it instead", count)
                % {"code": code.code, "count": count}
                for code, count in used
            ]
        return deleted, model_count, perms_needed, protected

    def _has_uses(self, code: DiscountCode) -> bool:
        if not hasattr(code, "_has_uses"):
            code._has_uses = code.uses.exists()
        return code._has_uses

    # --- columns and read-only fields

    @admin.display(description=_("Discount"), ordering="value")
    def value_display(self, code: DiscountCode) -> str:
        return value_text(code.kind, code.value)

    @admin.display(description=_("Minimum"), ordering="min_subtotal_usd")
    def minimum(self, code: DiscountCode) -> str:
        return usd_text(code.min_subtotal_usd) if code.min_subtotal_usd is not None else "—"

    @admin.display(description=_("Valid"), ordering="ends_at")
    def validity(self, code: DiscountCode) -> str:
        """"until 24 Dec 2026", "from 3 Jan 2027", "expired 25 Oct 2026", "always"."""
        now = timezone.now()
        starts, ends = code.starts_at, code.ends_at
        if ends is not None and ends <= now:
            return gettext("expired %(day)s") % {"day": day_text(ends)}
        if starts is not None and starts > now:
            if ends:
                return gettext("from %(start)s to %(end)s") % {"start": day_text(starts), "end": day_text(ends)}
            return gettext("from %(day)s") % {"day": day_text(starts)}
        return gettext("until %(day)s") % {"day": day_text(ends)} if ends else gettext("always")

    @admin.display(description=_("Active"), boolean=True, ordering="is_active")
    def active(self, code: DiscountCode) -> bool:
        return code.is_active

    @admin.display(description=_("Per customer"), ordering="per_customer_limit")
    def per_customer(self, code: DiscountCode) -> str:
        return str(code.per_customer_limit) if code.per_customer_limit is not None else "—"

    @admin.display(description=_("Uses"), ordering="used")
    def uses_display(self, code: DiscountCode) -> str:
        """Committed uses against the limit ("2 / 5"), and the live reservations under it."""
        notes = [] if code.usage_limit is not None else [gettext("no limit")]
        if code.reserved_now:
            notes.append((gettext("%(count)s reserved") % {"count": code.reserved_now}).replace(" ", "\u00a0"))
        used = f"{code.used} / {code.usage_limit}" if code.usage_limit is not None else str(code.used)
        return format_html('{}{}', used, format_html_join("", '<br><span class="quiet">{}</span>', ((note,) for note in notes)))

    @admin.display(description=_("Usage"))
    def usage(self, code: DiscountCode) -> str:
        if not code.pk:
            return "—"
        committed, reserved = usage_counts(code, now=timezone.now())
        return usage_text(committed, reserved, code.usage_limit)

    @admin.display(description=_("Recent uses"))
    def recent_uses(self, code: DiscountCode) -> str:
        if not code.pk:
            return "—"
        total = code.uses.count()
        if not total:
            return gettext("Not used yet.")
        uses = list(code.uses.order_by("-created_at", "-id")[:USES_SHOWN])
        numbers = self.order_numbers([use.order_id for use in uses if use.order_id is not None])
        now = timezone.now()
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    date_format(timezone.localtime(use.created_at), "j M Y, H:i"),
                    use.email,
                    use_status_text(use, now),
                    order_link(use.order_id, numbers.get(use.order_id)),
                )
                for use in uses
            ),
        )
        all_url = reverse("admin:discounts_discountuse_changelist") + f"?code__id__exact={code.pk}"
        more = (
            format_html('<p><a href="{}">{}</a></p>', all_url, gettext("All %(count)s uses of %(code)s") % {"count": total, "code": code.code})
            if total > len(uses)
            else format_html('<p><a href="{}">{}</a></p>', all_url, gettext("Open as a list"))
        )
        return format_html(
            '<table class="discount-uses"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead>'
            "<tbody>{}</tbody></table>{}",
            gettext("When"), gettext("Email"), gettext("Status"), gettext("Order"),
            rows,
            more,
        )

    def order_numbers(self, order_ids: list[int]) -> dict[int, str]:
        """Order numbers by id, for the uses table; the order admin fills this in."""
        return {}

    # --- actions (people who may change codes only)

    @admin.action(description=_("Deactivate selected discount codes"), permissions=["change"])
    def deactivate(self, request: HttpRequest, queryset: QuerySet[DiscountCode]) -> None:
        count = queryset.filter(is_active=True).update(is_active=False)
        self.message_user(
            request,
            ngettext(
                "Deactivated %(count)s code(s). Checkouts already paying with one keep it.",
                "Deactivated %(count)s code(s). Checkouts already paying with one keep it.",
                count,
            ) % {"count": count},
            messages.SUCCESS,
        )

    @admin.action(description=_("Activate selected discount codes"), permissions=["change"])
    def activate(self, request: HttpRequest, queryset: QuerySet[DiscountCode]) -> None:
        count = queryset.filter(is_active=False).update(is_active=True)
        self.message_user(request, ngettext("Activated %(count)s code(s).", "Activated %(count)s code(s).", count) % {"count": count}, messages.SUCCESS)


# --- the uses: a read-only record -----------------------------------------------------------


@admin.register(DiscountUse)
class DiscountUseAdmin(admin.ModelAdmin):
    """Every use of every code, as checkouts wrote them: view only."""

    list_display = ["created_at", "code", "email", "status_display", "order_display", "expires_at"]
    list_filter = ["status"]
    list_select_related = ["code"]
    search_fields = ["code__code", "email", "=order_id"]
    fields = ["code", "email", "status_display", "order_display", "holder_id", "expires_at", "created_at", "updated_at"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: DiscountUse | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: DiscountUse | None = None) -> bool:
        return False  # a limit counts these rows

    @admin.display(description=_("Status"), ordering="status")
    def status_display(self, use: DiscountUse) -> str:
        return use_status_text(use, timezone.now())

    @admin.display(description=_("Order"), ordering="order_id")
    def order_display(self, use: DiscountUse) -> str:
        return order_link(use.order_id, getattr(use, "order_number", None))
