"""Customers in the admin: who they are, their orders, what they spent (lifetime value in
USD) and when they last bought; found by name, email or city. Staff answer a request
received by email from here: "Download data (JSON)" and "Delete and anonymise" (with a
confirmation page, for staff who may delete users). The rules are in accounts.privacy.

Editing a user (password, permissions) stays on Django's Users page; this page only
reads, so its list is one query whatever the number of customers."""
from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.models import DELETION, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Max, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext, gettext_lazy as _, ngettext
from moneyed import Money

from accounts import privacy
from accounts.models import Customer
from accounts.privacy_views import json_download
from orders.admin import money_text
from orders.models import Order
from orders.reports import sum_or_zero, usd_of


def _day(moment) -> str:
    return date_format(timezone.localdate(moment), "DATE_FORMAT")


def _lifetime_value():
    """The orders' totals in USD, each at the rate it was made with and rounded to the
    cent (orders.reports' rule), cancelled orders left out, as the sales overview does."""
    return sum_or_zero(usd_of("orders__total", "orders__exchange_rate"), filter=~Q(orders__status=Order.Status.CANCELLED))


class CustomerOrderInline(admin.TabularInline):
    """The customer's orders, newest first, each linked to its page."""

    model = Order
    fk_name = "user"
    extra = 0
    can_delete = False
    show_change_link = False
    fields = ["order_link", "created_at", "status", "payment_status", "total", "total_usd", "ships_to"]
    readonly_fields = fields
    verbose_name_plural = _("orders")
    ordering = ["-created_at", "-id"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Order]:
        return super().get_queryset(request).annotate(total_usd_amount=usd_of("total"))

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description=_("Order"))
    def order_link(self, order: Order) -> str:
        return format_html('<a href="{}">{}</a>', reverse("admin:orders_order_change", args=[order.pk]), order.number)

    @admin.display(description=_("Total in USD"))
    def total_usd(self, order: Order) -> str:
        return money_text(Money(order.total_usd_amount, "USD"))

    @admin.display(description=_("Ships to"))
    def ships_to(self, order: Order) -> str:
        address = order.shipping_address or {}
        return ", ".join(part for part in (address.get("name"), address.get("city"), address.get("country")) if part) or "—"


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["email", "full_name", "orders_count", "lifetime_value", "last_order_at", "joined"]
    list_display_links = ["email", "full_name"]
    date_hierarchy = "date_joined"
    # Name and city also as the customer typed them on their orders' addresses.
    search_fields = [
        "email", "first_name", "last_name", "emailaddress__email", "orders__email", "orders__shipping_address__name",
        "orders__shipping_address__city",
    ]
    ordering = ["-date_joined", "-id"]
    fields = ["email", "full_name", "email_addresses", "joined", "last_login", "active", "orders_count", "lifetime_value", "last_order_at"]
    readonly_fields = fields
    inlines = [CustomerOrderInline]
    actions = ["download_data", "delete_and_anonymise"]
    change_form_template = "admin/accounts/customer/change_form.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Customer]:
        return (
            super().get_queryset(request)
            .filter(is_staff=False, is_superuser=False)
            .annotate(
                orders_total=Count("orders", distinct=True),
                lifetime_value_usd=_lifetime_value(),
                last_order=Max("orders__created_at"),
            )
        )

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[Customer], search_term: str):
        """The search runs on the customers alone, as a subquery: joined to the annotated
        list, a customer with three matching orders would count each order three times."""
        if not search_term.strip():
            return queryset, False
        matching, _duplicates = super().get_search_results(request, Customer.objects.order_by(), search_term)
        return queryset.filter(pk__in=matching.values("pk")), False

    # --- permissions: this page reads; deleting is the privacy action's alone ---------

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # never a bare delete: orders must be anonymised (accounts.privacy)

    def has_erase_permission(self, request: HttpRequest) -> bool:
        """Delete and anonymise: staff who may delete users."""
        return request.user.has_perm("auth.delete_user")

    # --- columns ----------------------------------------------------------------------

    @admin.display(description=_("Name"), ordering="last_name")
    def full_name(self, customer: Customer) -> str:
        return customer.get_full_name() or "—"

    @admin.display(description=_("Orders"), ordering="orders_total")
    def orders_count(self, customer: Customer) -> int:
        return customer.orders_total

    @admin.display(description=_("Lifetime value (USD)"), ordering="lifetime_value_usd")
    def lifetime_value(self, customer: Customer) -> str:
        return money_text(Money(customer.lifetime_value_usd, "USD"))

    @admin.display(description=_("Last order"), ordering="last_order")
    def last_order_at(self, customer: Customer) -> str:
        return _day(customer.last_order) if customer.last_order else "—"

    @admin.display(description=_("Joined"), ordering="date_joined")
    def joined(self, customer: Customer) -> str:
        return _day(customer.date_joined)

    @admin.display(description=_("Active"), boolean=True)
    def active(self, customer: Customer) -> bool:
        return customer.is_active

    @admin.display(description=_("Email addresses"))
    def email_addresses(self, customer: Customer) -> str:
        rows = customer.emailaddress_set.order_by("-primary", "id")
        return ", ".join(f"{a.email} ({gettext('verified') if a.verified else gettext('unverified')})" for a in rows) or "—"

    # --- actions ----------------------------------------------------------------------

    def _one(self, request: HttpRequest, queryset: QuerySet[Customer], refusal: str) -> Customer | None:
        customers = list(queryset[:2])
        if len(customers) != 1:
            self.message_user(request, refusal, messages.WARNING)
            return None
        return customers[0]

    @admin.action(description=_("Download data (JSON)"), permissions=["view"])
    def download_data(self, request: HttpRequest, queryset: QuerySet[Customer]):
        customer = self._one(
            request, queryset, gettext("Select exactly one customer to download the data of: a request is answered for one person.")
        )
        if customer is not None:
            return self._export_response(customer)
        return None

    @admin.action(description=_("Delete and anonymise…"), permissions=["erase"])
    def delete_and_anonymise(self, request: HttpRequest, queryset: QuerySet[Customer]):
        customer = self._one(request, queryset, gettext("Select exactly one customer to delete: a request is answered for one person."))
        if customer is not None:
            return HttpResponseRedirect(reverse("admin:accounts_customer_erase", args=[customer.pk]))
        return None

    def _export_response(self, customer: Customer) -> HttpResponse:
        return json_download(privacy.export_data(user_id=customer.pk), privacy.export_filename(prefix=f"customer-{customer.pk}-data"))

    # --- the pages behind the actions --------------------------------------------------

    def get_urls(self):
        return [
            path("<int:customer_id>/export/", self.admin_site.admin_view(self.export_view), name="accounts_customer_export"),
            path("<int:customer_id>/erase/", self.admin_site.admin_view(self.erase_view), name="accounts_customer_erase"),
            *super().get_urls(),
        ]

    def export_view(self, request: HttpRequest, customer_id: int) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        return self._export_response(get_object_or_404(self.get_queryset(request), pk=customer_id))

    def erase_view(self, request: HttpRequest, customer_id: int) -> HttpResponse:
        """Confirm, then delete the account and anonymise its orders (accounts.privacy)."""
        if not self.has_erase_permission(request):
            raise PermissionDenied
        customer = get_object_or_404(self.get_queryset(request), pk=customer_id)
        problem = privacy.deletion_problem(user_id=customer.pk, by_staff=True)
        if request.method == "POST" and problem is None:
            try:
                done = privacy.delete_account(user_id=customer.pk, actor_id=request.user.pk)
            except privacy.AccountNotDeletable as error:
                problem = error.message
            else:
                self._log_erasure(request, customer_id, done)
                parts = [
                    ngettext("%(count)s order(s) anonymised", "%(count)s order(s) anonymised", done.orders_anonymised)
                    % {"count": done.orders_anonymised},
                    ngettext("%(count)s cart(s) cleared", "%(count)s cart(s) cleared", done.carts_forgotten) % {"count": done.carts_forgotten},
                    ngettext("%(count)s saved address(es) deleted", "%(count)s saved address(es) deleted", done.addresses_deleted)
                    % {"count": done.addresses_deleted},
                ]
                if done.saved_cards:
                    parts.append(gettext("saved cards detached at Stripe"))
                self.message_user(
                    request,
                    gettext("Customer #%(id)s is deleted: %(what)s.") % {"id": customer_id, "what": ", ".join(parts)},
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(reverse("admin:accounts_customer_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": gettext("Delete and anonymise this customer?"),
            "customer": customer,
            "problem": problem,
            "order_count": len(privacy.person_order_ids(user_id=customer.pk)),
        }
        return TemplateResponse(request, "admin/accounts/customer/erase.html", context, status=409 if problem and request.method == "POST" else 200)

    def _log_erasure(self, request: HttpRequest, customer_id: int, done: privacy.AccountDeleted) -> None:
        """Who deleted which customer, and when, in the admin's log, under no name."""
        LogEntry.objects.create(
            user_id=request.user.pk,
            content_type=ContentType.objects.get_for_model(Customer, for_concrete_model=False),
            object_id=str(customer_id),
            object_repr=f"customer #{customer_id}",
            action_flag=DELETION,
            change_message=f"Deleted and anonymised on request: {done.orders_anonymised} order(s) anonymised.",
        )

    def render_change_form(self, request, context, *args, **kwargs):
        context["can_erase"] = self.has_erase_permission(request)
        return super().render_change_form(request, context, *args, **kwargs)


class ShopUserAdmin(UserAdmin):
    """Django's users page, without deleting customers: deleting one here would leave
    their email and addresses on orders and carts and their cards at Stripe. Customers are
    deleted from the Customers admin ("Delete and anonymise"); staff accounts as before."""

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        if obj is None or not obj.is_staff:  # no bulk delete: the selection may hold customers
            return False
        return super().has_delete_permission(request, obj)


admin.site.unregister(get_user_model())
admin.site.register(get_user_model(), ShopUserAdmin)


def _register_email_address_admin() -> None:
    """allauth's email address admin, its "Mark verified" action limited to staff who may
    change addresses (allauth declares no permission: a view-only user could run it)."""
    from allauth.account.admin import EmailAddressAdmin
    from allauth.account.models import EmailAddress

    class ShopEmailAddressAdmin(EmailAddressAdmin):
        @admin.action(description=EmailAddressAdmin.make_verified.short_description, permissions=["change"])
        def make_verified(self, request: HttpRequest, queryset: QuerySet) -> None:
            super().make_verified(request, queryset)

    if admin.site.is_registered(EmailAddress):
        admin.site.unregister(EmailAddress)
    admin.site.register(EmailAddress, ShopEmailAddressAdmin)


_register_email_address_admin()
