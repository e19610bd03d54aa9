"""A real HTTP server on loopback standing in for another host (images, oEmbed, redirects).

Routes are registered per test: `server.route("/cat.png", body=..., content_type=...)`,
`server.redirect("/go", "http://169.254.169.254/")`; every request's path is recorded in
`server.requests`.
"""

import contextlib
import http.server
import io
import socket
import threading
from dataclasses import dataclass, field

from PIL import Image


def png_bytes(size=(40, 30), color=(200, 30, 30)) -> bytes:
    """Return a small PNG made in memory."""
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return buffer.getvalue()


def jpeg_bytes(size=(48, 27), color=(20, 90, 200)) -> bytes:
    """Return a small JPEG made in memory."""
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "JPEG")
    return buffer.getvalue()


@dataclass
class Route:
    """What one path answers."""

    status: int = 200
    body: bytes = b""
    content_type: str = "application/octet-stream"
    headers: dict = field(default_factory=dict)
    # Send no Content-Length and close the connection to end the body.
    no_length: bool = False
    # Send the body in chunked transfer encoding.
    chunked: bool = False
    # Seconds to wait before answering, and between chunks of `trickle` bytes.
    delay: float = 0.0
    trickle: int = 0


class RemoteServer:
    """A threaded http.server on 127.0.0.1 with routes set by the test."""

    def __init__(self):
        self.routes: dict[str, Route] = {}
        self.requests: list[str] = []
        # Set when the test ends: slow answers stop waiting, so every handler thread ends.
        self.stopping = threading.Event()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                """Keep the test output quiet."""

            def do_GET(self):  # noqa: N802  (http.server's name)
                server.requests.append(self.path)
                route = server.routes.get(self.path) or Route(404, b"not found", "text/plain")
                # The client may hang up first (size caps, timeouts): that is its right.
                with contextlib.suppress(OSError):
                    self._answer(route)

            def _answer(self, route: Route):
                if route.delay and not route.trickle:
                    server.stopping.wait(route.delay)
                self.send_response(route.status)
                self.send_header("Content-Type", route.content_type)
                for name, value in route.headers.items():
                    self.send_header(name, value)
                if route.chunked:
                    self.send_header("Transfer-Encoding", "chunked")
                elif route.no_length:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                elif "Content-Length" not in route.headers:
                    self.send_header("Content-Length", str(len(route.body)))
                self.end_headers()
                step = route.trickle or 65536
                for start in range(0, len(route.body), step):
                    piece = route.body[start : start + step]
                    if route.chunked:
                        self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                    else:
                        self.wfile.write(piece)
                    self.wfile.flush()
                    if route.trickle and server.stopping.wait(route.delay):
                        return
                if route.chunked:
                    self.wfile.write(b"0\r\n\r\n")

        class Server(http.server.ThreadingHTTPServer):
            # server_close() waits for every handler thread: no socket outlives the test.
            daemon_threads = False
            block_on_close = True
            address_family = socket.AF_INET

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        """Return the full address of a path on this server."""
        return self.base + path

    def route(self, path: str, **answer) -> str:
        """Make `path` answer as given (see Route); return its full address."""
        self.routes[path] = Route(**answer)
        return self.url(path)

    def redirect(self, path: str, location: str, status: int = 302) -> str:
        """Make `path` redirect to `location`; return its full address."""
        return self.route(path, status=status, headers={"Location": location})

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)
