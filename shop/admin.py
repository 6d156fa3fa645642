"""Staff alerts in the admin: newest first, by kind and by whether someone has seen them.

Alerts are read-only: they are written by shop.alerts.alert_staff and only ever
acknowledged, through shop.alerts.acknowledge_alerts. They are never added or deleted
here, so the list stays the whole history of what staff were told.
"""
from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _, ngettext

from shop.alerts import acknowledge_alerts
from shop.models import StaffAlert


class AcknowledgedFilter(admin.SimpleListFilter):
    title = _("acknowledged")
    parameter_name = "acknowledged"

    def lookups(self, request, model_admin):
        return [("no", _("Not yet")), ("yes", _("Yes"))]

    def queryset(self, request, queryset):
        if self.value() == "no":
            return queryset.filter(acknowledged_at__isnull=True)
        if self.value() == "yes":
            return queryset.filter(acknowledged_at__isnull=False)
        return queryset


@admin.register(StaffAlert)
class StaffAlertAdmin(admin.ModelAdmin):
    list_display = ["created_at", "kind", "subject", "acknowledged", "acknowledged_by", "acknowledged_at"]
    list_display_links = ["created_at", "subject"]
    list_filter = ["kind", AcknowledgedFilter]
    list_select_related = ["acknowledged_by"]
    search_fields = ["subject", "body"]
    ordering = ["-created_at", "-id"]
    date_hierarchy = "created_at"
    fields = ["created_at", "kind", "subject", "body", "acknowledged_at", "acknowledged_by"]
    readonly_fields = fields
    actions = ["acknowledge_selected"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # alerts are raised by the shop, not typed in

    def has_delete_permission(self, request: HttpRequest, obj: StaffAlert | None = None) -> bool:
        return False  # the history of what staff were told stays whole

    def has_change_permission(self, request: HttpRequest, obj: StaffAlert | None = None) -> bool:
        # "change" is what the acknowledge action needs (asked with obj=None); a single
        # alert's page is read-only, as no field of it is edited by hand.
        if obj is not None:
            return False
        return super().has_change_permission(request)

    @admin.display(description=_("Acknowledged"), boolean=True, ordering="acknowledged_at")
    def acknowledged(self, alert: StaffAlert) -> bool:
        return alert.acknowledged

    @admin.action(description=_("Acknowledge selected alerts"), permissions=["change"])
    def acknowledge_selected(self, request: HttpRequest, queryset: QuerySet[StaffAlert]) -> None:
        count = acknowledge_alerts(queryset.values_list("pk", flat=True), request.user.pk)
        self.message_user(request, ngettext("Acknowledged %(count)s alert(s).", "Acknowledged %(count)s alert(s).", count) % {"count": count}, messages.SUCCESS)
