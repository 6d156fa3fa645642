"""Staff forms for stock. They only parse input; inventory.services decides what is allowed."""
from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from inventory.models import StockMovement
from shop.errors import ShopError

# A single adjustment beyond this is a typing slip, not a delivery; it also keeps the
# figure inside the database's integer column.
MAX_ADJUSTMENT = 1_000_000

# Sales and cancellations move stock only with their order (inventory.services.commit,
# return_sold_units), never by hand.
ORDER_REASONS = (StockMovement.Reason.SALE, StockMovement.Reason.CANCEL)
ADJUSTMENT_REASONS = [(value, label) for value, label in StockMovement.Reason.choices if value not in ORDER_REASONS]


class StockAdjustmentForm(forms.Form):
    delta = forms.IntegerField(
        label=_("Change in units"),
        min_value=-MAX_ADJUSTMENT,
        max_value=MAX_ADJUSTMENT,
        help_text=_("Positive adds to on hand (goods received, returns); negative removes (damaged, lost, count correction)."),
    )
    reason = forms.ChoiceField(label=_("Reason"), choices=ADJUSTMENT_REASONS)
    note = forms.CharField(label=_("Note"), max_length=255, required=False, widget=forms.TextInput(attrs={"size": 60}))

    def add_refusal(self, error: ShopError) -> None:
        """Show a refusal from the service next to the fields it names (else above the form)."""
        fields = [name for name in error.details if name in self.fields]
        for name in fields:
            self.add_error(name, error.message)
        if not fields:
            self.add_error(None, error.message)
