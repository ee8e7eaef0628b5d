"""A bounded HTTP server on 127.0.0.1 for the tests: routes, ranges, failures, stalls."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Route:
    body: bytes
    ranges: bool = True  # honour Range requests
    drop_after: int | None = None  # close the connection after this many bytes, once
    status: list[int] = field(default_factory=list)  # statuses to answer first, in turn
    content_type: str = "application/octet-stream"
    stall: float = 0.0  # seconds to wait before answering
    slow: float = 0.0  # seconds between 4 kB pieces
    etag: str = '"v1"'


class LocalServer:
    """An HTTP server on 127.0.0.1 (or ``host``, an address of this machine) at a free port,
    serving from a thread until closed."""

    httpd: ThreadingHTTPServer
    url: str

    def _start(self, handler: type[BaseHTTPRequestHandler], host: str = "127.0.0.1") -> None:
        self.httpd = ThreadingHTTPServer((host, 0), handler)
        self.httpd.daemon_threads = True
        self.url = f"http://{host}:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class Server(LocalServer):
    """A bounded HTTP server on an ephemeral loopback port, in a thread."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: Counter[str] = Counter()
        self.range_hits: Counter[str] = Counter()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                return None

            def do_GET(self) -> None:
                route = server.routes.get(self.path)
                server.hits[self.path] += 1
                if route is None:
                    self.send_error(404)
                    return
                if route.stall:
                    time.sleep(route.stall)
                if route.status:
                    self.send_error(route.status.pop(0))
                    return
                start = 0
                rng = self.headers.get("Range")
                if rng and route.ranges and self.headers.get("If-Range", route.etag) == route.etag:
                    server.range_hits[self.path] += 1
                    start = int(rng.split("=")[1].split("-")[0])
                    self.send_response(206)
                    self.send_header(
                        "Content-Range", f"bytes {start}-{len(route.body) - 1}/{len(route.body)}"
                    )
                else:
                    self.send_response(200)
                body = route.body[start:]
                self.send_header("Content-Type", route.content_type)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("ETag", route.etag)
                self.end_headers()
                if route.drop_after is not None:
                    cut, route.drop_after = route.drop_after, None
                    self.wfile.write(body[:cut])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                for i in range(0, len(body), 4096):
                    if route.slow:
                        time.sleep(route.slow)
                    try:
                        self.wfile.write(body[i : i + 4096])
                    except (BrokenPipeError, ConnectionResetError):
                        return

        self._start(Handler)
