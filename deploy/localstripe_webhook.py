"""Registers the shop's webhook endpoint with localstripe (the demo profile of compose.yaml),
signed with STRIPE_WEBHOOK_SECRET, as Stripe's Dashboard does for real Stripe.

    python deploy/localstripe_webhook.py http://localstripe:8420 http://web:8000/api/v1/webhooks/stripe/
"""
from __future__ import annotations

import os
import sys
import time
import urllib.parse
import urllib.request


def register(emulator: str, endpoint: str, secret: str, *, wait_seconds: float = 60.0) -> None:
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            urllib.request.urlopen(f"{emulator}/js.stripe.com/v3/", timeout=2).read()
            break
        except OSError:
            if time.monotonic() > deadline:
                sys.exit(f"localstripe did not answer at {emulator}")
            time.sleep(1)
    body = urllib.parse.urlencode({"url": endpoint, "secret": secret}).encode()
    request = urllib.request.Request(f"{emulator}/_config/webhooks/shop", data=body, method="POST")
    urllib.request.urlopen(request, timeout=5).read()
    print(f"localstripe sends signed webhooks to {endpoint}")


if __name__ == "__main__":
    if len(sys.argv) != 3 or not os.environ.get("STRIPE_WEBHOOK_SECRET"):
        sys.exit("usage: STRIPE_WEBHOOK_SECRET=whsec_... python deploy/localstripe_webhook.py EMULATOR_URL ENDPOINT_URL")
    register(sys.argv[1], sys.argv[2], os.environ["STRIPE_WEBHOOK_SECRET"])
