"""`careerbot web [--host H] [--port N]`: the web desk for coaches, coordinators and admins."""

from __future__ import annotations

import argparse
import logging
import sys

from bot.config import get_settings


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    web = subparsers.add_parser("web", help="serve the web desk (coaches, coordinators, admins)")
    web.add_argument("--host", default=None, help="address to bind (default WEB_HOST, 127.0.0.1)")
    web.add_argument("--port", type=int, default=None, help="port (default WEB_PORT, 8080)")
    web.set_defaults(func=_web)


def _web(args: argparse.Namespace) -> int:
    import uvicorn

    from bot.flows.registry import FlowsInvalid
    from bot.web.app import create_app

    settings = get_settings()
    host = args.host or settings.web_host
    port = args.port or settings.web_port
    logging.getLogger("uvicorn.access").disabled = True  # paths can hold login tokens
    try:
        app = create_app(settings)
    except FlowsInvalid as exc:
        print(f"careerbot: {exc}\nFix the flows (careerbot flows check).", file=sys.stderr)
        return 1
    print(f"web desk on http://{host}:{port} (links point to {settings.web_base_url})", flush=True)
    uvicorn.run(app, host=host, port=port, access_log=False, log_level="warning")
    return 0
