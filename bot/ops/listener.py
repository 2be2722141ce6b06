"""A tornado application on one address: the webhook, the /metrics side server and the test
servers (fake Bot API, Rasa stand-ins) all listen the same way."""

from __future__ import annotations

import socket

import tornado.httpserver
import tornado.netutil
import tornado.web


class Listener:
    def __init__(self, app: tornado.web.Application, *, xheaders: bool = False) -> None:
        self._app = app
        self._xheaders = xheaders  # behind a proxy: the client's address from X-Real-Ip
        self._server: tornado.httpserver.HTTPServer | None = None
        self.port = 0

    def start(self, *, listen: str, port: int) -> int:
        """Bind `listen:port` (0: any free port) and serve; returns the bound port."""
        sockets = tornado.netutil.bind_sockets(port, listen, family=socket.AF_INET)
        self.port = int(sockets[0].getsockname()[1])
        self._server = tornado.httpserver.HTTPServer(self._app, xheaders=self._xheaders)
        self._server.add_sockets(sockets)
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            await self._server.close_all_connections()
            self._server = None
