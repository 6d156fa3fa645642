"""Payments in the admin: webhook events (with a retry action), payments and refunds
(read-only records), and the payment actions of the order admin (refund, capture).

Every action calls a service (payments.webhooks, payments.refunds, payments.services);
nothing here writes rows itself.
"""
from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, gettext_lazy as _, ngettext
from currencies.money import format_money, parse_amount_in_steps
from orders.admin import OrderAdmin
from orders.models import Order
from payments import refunds, services, webhooks
from payments.amounts import from_stripe
from payments.models import PAID_STATUSES, Payment, Refund, StripeCustomer, WebhookEvent
from shop.errors import ShopError


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records written only by the payment services."""

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdmin):
    list_display = ["stripe_event_id", "type", "outcome", "result", "deliveries", "attempts", "received_at", "processed_at"]
    list_filter = ["outcome", "type", "received_at"]
    search_fields = ["stripe_event_id", "object_id"]
    date_hierarchy = "received_at"
    fields = ["stripe_event_id", "type", "object_id", "outcome", "result", "deliveries", "attempts", "received_at", "processed_at", "error", "payload"]
    readonly_fields = fields
    actions = ["retry"]

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("payments.change_webhookevent")

    @admin.action(description=_("Retry handling the selected events"), permissions=["retry"])
    def retry(self, request: HttpRequest, queryset: QuerySet[WebhookEvent]) -> None:
        done = failed = skipped = 0
        for event_id in queryset.order_by("received_at").values_list("pk", flat=True):
            before = WebhookEvent.objects.values_list("outcome", flat=True).get(pk=event_id)
            if before in (WebhookEvent.Outcome.PROCESSED, WebhookEvent.Outcome.IGNORED):
                skipped += 1
                continue
            event = webhooks.process_event(event_id)
            if event.outcome == WebhookEvent.Outcome.FAILED:
                failed += 1
            else:
                done += 1
        level = messages.WARNING if failed else messages.SUCCESS
        self.message_user(
            request, gettext("Handled %(done)s, failed again %(failed)s, already handled %(skipped)s.") % {"done": done, "failed": failed, "skipped": skipped},
            level,
        )


class RefundInline(admin.TabularInline):
    model = Refund
    fields = ["created_at", "amount_shown", "reason", "status", "stripe_refund_id", "created_by", "note", "error"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description=_("Amount"))
    def amount_shown(self, refund: Refund) -> str:
        return format_money(from_stripe(refund.amount, refund.currency))


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = ["stripe_payment_intent_id", "cart", "attempt", "order", "amount_shown", "status", "error_code", "needs_attention", "created_at"]
    list_filter = ["status", "needs_attention", "capture_method", "currency"]
    search_fields = ["stripe_payment_intent_id", "stripe_charge_id", "cart__id", "order__number"]
    fields = [
        "stripe_payment_intent_id", "stripe_charge_id", "cart", "attempt", "order", "amount_shown", "refunded_shown",
        "capture_method", "status", "error_code", "error_message", "needs_attention", "attention_reason", "created_at", "updated_at",
    ]
    readonly_fields = fields
    inlines = [RefundInline]
    list_select_related = ["order"]

    @admin.display(description=_("Amount"))
    def amount_shown(self, payment: Payment) -> str:
        return format_money(from_stripe(payment.amount, payment.currency))

    @admin.display(description=_("Refunded (Stripe)"))
    def refunded_shown(self, payment: Payment) -> str:
        return format_money(from_stripe(payment.amount_refunded, payment.currency))


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = ["pk", "payment", "order", "amount_shown", "reason", "status", "created_by", "created_at"]
    list_filter = ["status", "reason"]
    search_fields = ["payment__stripe_payment_intent_id", "order__number", "stripe_refund_id"]
    fields = ["payment", "order", "amount_shown", "reason", "note", "status", "stripe_refund_id", "error", "send_attempts", "sent_at", "created_by", "created_at"]
    readonly_fields = fields
    actions = ["send_again"]

    @admin.display(description=_("Amount"))
    def amount_shown(self, refund: Refund) -> str:
        return format_money(from_stripe(refund.amount, refund.currency))

    def has_send_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("payments.add_refund")

    @admin.action(description=_("Send the selected pending refunds to Stripe now"), permissions=["send"])
    def send_again(self, request: HttpRequest, queryset: QuerySet[Refund]) -> None:
        results = [refunds.send_refund(pk) for pk in queryset.filter(status=Refund.Status.PENDING).values_list("pk", flat=True)]
        sent = sum(1 for r in results if r.status == Refund.Status.SUCCEEDED)
        self.message_user(
            request,
            ngettext("%(sent)s of %(count)s pending refund(s) sent.", "%(sent)s of %(count)s pending refund(s) sent.", len(results))
            % {"sent": sent, "count": len(results)},
            messages.SUCCESS if sent == len(results) else messages.WARNING,
        )


@admin.register(StripeCustomer)
class StripeCustomerAdmin(ReadOnlyAdmin):
    """Which user is which Stripe Customer. Their saved cards are at Stripe (the shop keeps
    no copy): look the customer up in Stripe's dashboard."""

    list_display = ["stripe_customer_id", "user", "created_at"]
    search_fields = ["stripe_customer_id", "user__email", "user__username"]
    list_select_related = ["user"]
    fields = ["user", "stripe_customer_id", "created_at"]
    readonly_fields = fields


# --- the order admin's payment actions -------------------------------------------------


class RefundForm(forms.Form):
    # Bounded so that input such as 1e999999 is a field error, not a decimal.Overflow:
    # 12 digits, 3 of them decimals (KWD), is more than any order holds.
    amount = forms.DecimalField(
        label=_("Amount"),
        required=False,
        min_value=Decimal("0"),
        max_digits=12,
        decimal_places=3,
        help_text=_("In the order's currency. Leave empty to refund everything not yet refunded."),
    )
    reason = forms.ChoiceField(label=_("Reason"), choices=Refund.Reason.choices, initial=Refund.Reason.REQUESTED_BY_CUSTOMER)
    note = forms.CharField(label=_("Note"), required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 2}))


class OrderPaymentActions:
    """Mixed into the order admin (OrderWithPaymentsAdmin below): a payment panel on the
    order page, a refund page (partial or full, bounded by what was charged minus what
    was refunded) and a capture action for authorized payments
    (STRIPE_CAPTURE_METHOD=manual)."""

    actions = ["capture_authorized_payments"]

    def get_fieldsets(self, request: HttpRequest, obj=None):
        fieldsets = list(super().get_fieldsets(request, obj))  # type: ignore[misc]
        if obj is not None:
            fieldsets.append((_("Payment"), {"fields": ["payment_panel"]}))
        return fieldsets

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        return [*super().get_readonly_fields(request, obj), "payment_panel"]  # type: ignore[misc]

    @admin.display(description=_("Payments"))
    def payment_panel(self, order: Order) -> str:
        payments = list(order.payments.order_by("attempt"))
        rows = format_html_join(
            "",
            "<li>{} — {} — {}{}</li>",
            (
                (
                    p.stripe_payment_intent_id,
                    format_money(from_stripe(p.amount, p.currency)),
                    p.get_status_display(),
                    " — " + gettext("needs attention: %(reason)s") % {"reason": p.attention_reason} if p.needs_attention else "",
                )
                for p in payments
            ),
        )
        refund_url = reverse("admin:orders_order_refund", args=[order.pk])
        return format_html('<ul>{}</ul><p><a class="button" href="{}">{}</a></p>', rows, refund_url, gettext("Refund…"))

    def get_urls(self):
        return [
            path("<int:order_id>/refund/", self.admin_site.admin_view(self.refund_view), name="orders_order_refund"),  # type: ignore[attr-defined]
            *super().get_urls(),  # type: ignore[misc]
        ]

    def refund_view(self, request: HttpRequest, order_id: int) -> HttpResponse:
        if not request.user.has_perm("payments.add_refund"):
            raise PermissionDenied
        order = get_object_or_404(Order, pk=order_id)
        payment = order.payments.filter(status__in=PAID_STATUSES).order_by("-attempt").first()
        left = from_stripe(refunds.refundable(payment), payment.currency) if payment else None
        form = RefundForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            amount = form.cleaned_data["amount"]
            try:
                refund = refunds.refund_order(
                    order_id=order.pk,
                    amount=None if amount is None else parse_amount_in_steps(
                        amount, order.currency, what="Refunds", too_large="That amount is too large to refund."
                    ),
                    reason=form.cleaned_data["reason"],
                    note=form.cleaned_data["note"],
                    actor_id=request.user.pk,
                )
            except ShopError as error:
                form.add_error("amount" if "amount" in error.details else None, error.message)
            else:
                shown = format_money(from_stripe(refund.amount, refund.currency))
                if refund.status == Refund.Status.SUCCEEDED:
                    self.message_user(request, gettext("Refunded %(amount)s of order %(number)s.") % {"amount": shown, "number": order.number}, messages.SUCCESS)  # type: ignore[attr-defined]
                elif refund.status == Refund.Status.PENDING:
                    self.message_user(request, gettext("Refund of %(amount)s is pending: %(error)s") % {"amount": shown, "error": refund.error}, messages.WARNING)  # type: ignore[attr-defined]
                else:
                    self.message_user(request, gettext("Stripe refused the refund of %(amount)s: %(error)s") % {"amount": shown, "error": refund.error}, messages.ERROR)  # type: ignore[attr-defined]
                return HttpResponseRedirect(reverse("admin:orders_order_change", args=[order.pk]))
        context = {
            **self.admin_site.each_context(request),  # type: ignore[attr-defined]
            "opts": Order._meta,
            "title": gettext("Refund order %(number)s") % {"number": order.number},
            "order": order,
            "payment": payment,
            "refundable": format_money(left) if left is not None else None,
            "refunds": [(r, format_money(from_stripe(r.amount, r.currency))) for r in order.refunds.order_by("created_at")],
            "form": form,
        }
        return TemplateResponse(request, "admin/orders/order/refund.html", context)

    def has_capture_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("payments.change_payment")

    @admin.action(description=_("Capture the authorized payments of the selected orders"), permissions=["capture"])
    def capture_authorized_payments(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        if not self.has_capture_permission(request):
            raise PermissionDenied
        captured, problems = 0, []
        for order in queryset.filter(payment_status=Order.PaymentStatus.AUTHORIZED):
            try:
                services.capture_order_payment(order_id=order.pk)
                captured += 1
            except ShopError as error:
                problems.append(f"{order.number}: {error.message}")
        self.message_user(request, ngettext("Captured %(count)s payment(s).", "Captured %(count)s payment(s).", captured) % {"count": captured}, messages.SUCCESS)  # type: ignore[attr-defined]
        for problem in problems:
            self.message_user(request, problem, messages.ERROR)  # type: ignore[attr-defined]


# The order admin, with the payment panel, refund page and capture action: orders knows
# nothing of payments, so payments (installed after orders) puts them on its admin.
admin.site.unregister(Order)


@admin.register(Order)
class OrderWithPaymentsAdmin(OrderPaymentActions, OrderAdmin):
    pass
