"""Ports for the servers the tests start (localstripe, gunicorn) and for addresses where
nothing listens (an unreachable Stripe, a webhook sent to no one)."""
from __future__ import annotations

import socket

HOST = "127.0.0.1"


def free_port(host: str = HOST) -> int:
    """A TCP port on `host` that nothing listens on at the moment of the call."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


__all__ = ["HOST", "free_port"]
