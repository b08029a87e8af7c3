"""What every stand-in shares: a server on 127.0.0.1 served by a daemon thread, started and stopped alike.

`StandInServer` binds the listening socket (a free port unless one is asked for), runs the server a
subclass builds on it, stops it, and gives `port`, `base_url` and the context-manager protocol. A stand-in
with `holds_port` keeps its port while stopped, so a stopped stand-in refuses connections and no other
server, another test's in a parallel run included, takes the port and answers in its place.
`StandInHTTPServer` is the `ThreadingHTTPServer` the HTTP stand-ins build on that socket; `poll` is the
wait loop of their `wait_for...` helpers.
"""

from __future__ import annotations

import socket
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import ClassVar, Protocol, Self, TypeVar

HOST = "127.0.0.1"
POLL_SECONDS = 0.02

_T = TypeVar("_T")


class Serving(Protocol):
    """A server as `StandInServer` runs it: socketserver's and websockets' threaded servers both fit."""

    def serve_forever(self) -> None: ...

    def shutdown(self) -> None: ...


class StandInServer(ABC):
    """Start, stop and port plumbing of a stand-in; subclasses build the server in `_serve`."""

    scheme: ClassVar[str] = "http"
    holds_port: ClassVar[bool] = False
    """Keep the port while stopped (`_stop`); the stand-in's `stop()` decides how callers give it up."""

    def __init__(self, port: int = 0) -> None:
        self._port = port
        self._listener: socket.socket | None = None
        self._server: Serving | None = None
        self._thread: threading.Thread | None = None
        self._held: socket.socket | None = None

    @abstractmethod
    def _serve(self, listener: socket.socket) -> Serving:
        """The server that accepts on `listener` (bound and listening) until its `shutdown()`.

        `shutdown()` ends the accept loop and whatever connections the stand-in should not leave open.
        """

    def start(self) -> Self:
        """Listen on 127.0.0.1 and serve in a daemon thread: the port asked for, else a free one the first
        time and the same one after `stop()`; idempotent."""
        if self._server is not None:
            return self
        # A held port can be bound again only by a socket that also sets SO_REUSEPORT.
        listener = socket.create_server((HOST, self._port), reuse_port=self.holds_port)
        self._port = listener.getsockname()[1]
        if self._held is not None:
            self._held.close()
            self._held = None
        server = self._serve(listener)
        self._listener, self._server = listener, server
        self._thread = threading.Thread(target=server.serve_forever, name=f"{type(self).__name__}:{self._port}",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving: connections are refused until `start()` again; idempotent."""
        self._stop(release=False)

    def _stop(self, *, release: bool) -> None:
        """Shut the server down and close its listener.

        With `holds_port` and not `release`, the port stays held by a bound socket that does not listen
        (bound before the listener closes, both with SO_REUSEPORT), so connections are refused and no
        other server can take the port meanwhile. `release=True` gives it up.
        """
        server, listener, thread = self._server, self._listener, self._thread
        self._server = self._listener = self._thread = None
        if listener is not None and self.holds_port and not release and self._held is None:
            held = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            held.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            held.bind((HOST, self._port))
            self._held = held
        if server is not None:
            server.shutdown()
        if listener is not None:
            listener.close()
        if thread is not None:
            thread.join(timeout=5)
        if release and self._held is not None:
            self._held.close()
            self._held = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop(release=True)

    @property
    def port(self) -> int:
        """The port served, or held while stopped; RuntimeError before `start()` and after release."""
        if self._server is None and self._held is None:
            raise RuntimeError(f"{type(self).__name__} is not started: call start() or use it as a context manager")
        return self._port

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{HOST}:{self.port}"


class StandInHTTPServer(ThreadingHTTPServer):
    """A `ThreadingHTTPServer` on the listener `StandInServer` bound, rather than on one of its own."""

    # A request still being answered must not keep the test process alive.
    daemon_threads = True

    def __init__(self, listener: socket.socket, handler: type[BaseHTTPRequestHandler]) -> None:
        host, port = listener.getsockname()[:2]
        super().__init__((host, port), handler, bind_and_activate=False)
        self.socket.close()  # the unbound socket TCPServer made, replaced by the listener
        self.socket = listener
        self.server_name, self.server_port = host, port

    def serve_forever(self, poll_interval: float = 0.01) -> None:
        # shutdown() waits until the loop next polls: a short interval keeps stop() quick.
        super().serve_forever(poll_interval)


def poll(read: Callable[[], _T], ready: Callable[[_T], bool], timeout: float) -> tuple[_T, bool]:
    """`read()` every `POLL_SECONDS` until `ready` holds for what it read or `timeout` seconds pass.

    Returns what was read last and whether it was ready; the caller words its own timeout message.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if ready(value):
            return value, True
        if time.monotonic() >= deadline:
            return value, False
        time.sleep(POLL_SECONDS)
