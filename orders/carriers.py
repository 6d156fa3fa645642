"""The carriers staff ship with, and the page a shopper follows to track a parcel."""
from __future__ import annotations

from urllib.parse import quote

from django.conf import settings
from django.utils.translation import gettext, gettext_noop

# Carriers staff choose from, with the page a shopper follows to track a parcel
# ({tracking} is the tracking number). CARRIER_TRACKING_URLS in settings adds or replaces.
CARRIERS: dict[str, tuple[str, str]] = {
    "dhl": ("DHL", "https://www.dhl.com/global-en/home/tracking/tracking-express.html?tracking-id={tracking}"),
    "ups": ("UPS", "https://www.ups.com/track?tracknum={tracking}"),
    "fedex": ("FedEx", "https://www.fedex.com/fedextrack/?trknbr={tracking}"),
    "usps": ("USPS", "https://tools.usps.com/go/TrackConfirmAction?tLabels={tracking}"),
    "royal_mail": ("Royal Mail", "https://www.royalmail.com/track-your-item#/tracking-results/{tracking}"),
    "dpd": ("DPD", "https://www.dpd.com/tracking?parcelNumber={tracking}"),
    "other": (gettext_noop("Other carrier"), ""),
}


def carriers() -> dict[str, tuple[str, str]]:
    """code -> (name, tracking URL template), with the settings' additions."""
    return {**CARRIERS, **getattr(settings, "CARRIER_TRACKING_URLS", {})}


def tracking_url(carrier: str, tracking_number: str) -> str:
    template = carriers().get(carrier, ("", ""))[1]
    return template.format(tracking=quote(tracking_number, safe="")) if template else ""


def carrier_name(code: str) -> str:
    return gettext(carriers().get(code, (code, ""))[0])  # brand names stay as they are
