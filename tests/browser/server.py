"""The check's web server on 127.0.0.1, or another address of this machine (an ephemeral
port, in a thread): GET serves the page, the sprite and the labels; POST
``/result/NAME?at=OFFSET&of=TOTAL`` takes a piece of what the page sends back, bounded by
what convert wrote."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler
from pathlib import Path

from tests.httpkit import LocalServer

TYPES = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".json": "application/json",
    ".png": "image/png",
}


class Server(LocalServer):
    """Serves ``files`` (URL path to file or bytes); keeps POSTed results up to ``limits``."""

    def __init__(
        self, files: dict[str, Path | bytes], limits: dict[str, int], host: str = "127.0.0.1"
    ) -> None:
        self.files = files
        self.limits = limits
        self.results: dict[str, bytearray] = {}
        self.received: dict[str, int] = {}  # bytes in all the pieces of each result
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: every response has a Content-Length

            def log_message(self, *args: object) -> None:
                return None

            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                item = server.files.get(path)
                if item is None:
                    self.send_error(404)
                    return
                body = item if isinstance(item, bytes) else item.read_bytes()
                self.send_response(200)
                kind = TYPES.get(Path(path).suffix, "application/octet-stream")
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                path, _, query = self.path.partition("?")
                name = path.removeprefix("/result/")
                args = dict(part.partition("=")[::2] for part in query.split("&"))
                try:
                    at, total = int(args["at"]), int(args["of"])
                    size = int(self.headers["Content-Length"])
                except (KeyError, TypeError, ValueError):
                    self.send_error(400)
                    return
                limit = server.limits.get(name, -1)
                if not (0 <= total <= limit and at >= 0 and 0 <= size <= total - at):
                    self.send_error(400)
                    return
                buf = server.results.setdefault(name, bytearray(total))
                if len(buf) != total:
                    self.send_error(400)
                    return
                got = self.rfile.read(size)
                buf[at : at + len(got)] = got
                server.received[name] = server.received.get(name, 0) + len(got)
                self.send_response(200 if len(got) == size else 400)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self._start(Handler, host)
