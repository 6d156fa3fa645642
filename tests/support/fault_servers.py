"""Servers that misbehave on purpose, on loopback ports, for the fault tests:

- SilentServer: accepts every connection and never answers (a hung Stripe or SMTP server);
- ErrorServer: answers every HTTP request with 500 (Stripe failing on its side);
- SmtpSink: a minimal SMTP server that keeps what it receives, and can stay silent on its
  first `hang_first` connections (a mail server that hangs, then recovers).
"""
from __future__ import annotations

import socket
import threading
import time
from email import message_from_bytes
from email.message import Message

from tests.support.net import HOST


class _Server:
    def __init__(self) -> None:
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((HOST, 0))
        self._sock.listen(64)
        self.port = self._sock.getsockname()[1]
        self.connections = 0
        self._open: list[socket.socket] = []
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stopped.set()
        self._sock.close()
        for conn in self._open:
            try:
                conn.close()
            except OSError:
                pass

    def _accept_loop(self) -> None:
        self._sock.settimeout(0.2)
        while not self._stopped.is_set():
            try:
                conn, _ = self._sock.accept()
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            self.connections += 1
            self._open.append(conn)
            threading.Thread(target=self.handle, args=(conn, self.connections), daemon=True).start()

    def handle(self, conn: socket.socket, number: int) -> None:
        raise NotImplementedError


class SilentServer(_Server):
    def handle(self, conn: socket.socket, number: int) -> None:
        self._stopped.wait()  # holds the connection open, says nothing


class ErrorServer(_Server):
    """HTTP/1.1 500 with a Stripe-like error body for every request."""

    body = b'{"error": {"type": "api_error", "message": "Something went wrong on Stripe\'s end."}}'

    def handle(self, conn: socket.socket, number: int) -> None:
        conn.settimeout(5)
        buffer = b""
        try:
            while not self._stopped.is_set():
                chunk = conn.recv(65536)
                if not chunk:
                    return
                buffer += chunk
                while b"\r\n\r\n" in buffer:
                    head, _, rest = buffer.partition(b"\r\n\r\n")
                    length = 0
                    for line in head.split(b"\r\n")[1:]:
                        name, _, value = line.partition(b":")
                        if name.strip().lower() == b"content-length":
                            length = int(value.strip())
                    while len(rest) < length:
                        rest += conn.recv(65536)
                    buffer = rest[length:]
                    conn.sendall(
                        b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\n"
                        b"Stripe-Should-Retry: true\r\n"
                        + f"Content-Length: {len(self.body)}\r\n\r\n".encode() + self.body
                    )
        except OSError:
            return


class SmtpSink(_Server):
    def __init__(self, *, hang_first: int = 0) -> None:
        super().__init__()
        self.hang_first = hang_first
        self.messages: list[Message] = []

    def handle(self, conn: socket.socket, number: int) -> None:
        if number <= self.hang_first:
            self._stopped.wait()
            return
        conn.settimeout(10)
        reader = conn.makefile("rb")
        try:
            conn.sendall(b"220 sink ESMTP\r\n")
            while True:
                line = reader.readline()
                if not line:
                    return
                command = line.strip().upper()
                if command.startswith((b"EHLO", b"HELO")):
                    conn.sendall(b"250 sink\r\n")
                elif command == b"DATA":
                    conn.sendall(b"354 go ahead\r\n")
                    data = b""
                    while True:
                        part = reader.readline()
                        if part in (b".\r\n", b".\n", b""):
                            break
                        data += part[1:] if part.startswith(b"..") else part
                    self.messages.append(message_from_bytes(data))
                    conn.sendall(b"250 queued\r\n")
                elif command == b"QUIT":
                    conn.sendall(b"221 bye\r\n")
                    return
                else:  # MAIL FROM, RCPT TO, RSET, NOOP
                    conn.sendall(b"250 ok\r\n")
        except OSError:
            return


def elapsed(since: float) -> float:
    return time.monotonic() - since


__all__ = ["SilentServer", "ErrorServer", "SmtpSink", "elapsed"]
