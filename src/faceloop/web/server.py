"""`faceloop serve`: the web app on uvicorn with the job worker in the same process, so one
command serves everything.

Safety first: on a loopback address the app answers only to loopback host names; on any other
address it refuses to start unless a password is set, since anyone on the network could
otherwise read and change every label.
"""

from __future__ import annotations

import errno
import logging
import socket
import threading
from collections.abc import Callable

import uvicorn

# each stage's job module registers its kinds of job (for this process's worker) and the rules
# that start them after human decisions
import faceloop.collect.job
import faceloop.grouping.job
import faceloop.ingest.job
import faceloop.learning.job  # noqa: F401
from faceloop.jobs.queue import queue_for
from faceloop.labels.names import name_index
from faceloop.readmodel import snapshot
from faceloop.web.app import WebSettings, create_app
from faceloop.web.security import LOOPBACK_NAMES, is_loopback, owner_password_hash
from faceloop.workspace import Workspace

log = logging.getLogger("faceloop.web")


class ServeError(Exception):
    """The server cannot start; the message says what to do."""


def check_binding(ws: Workspace, host: str) -> WebSettings:
    """The settings for serving on `host`, or a refusal to expose an unprotected workspace."""
    if is_loopback(host):
        return WebSettings(allowed_hosts={*LOOPBACK_NAMES, host})
    if owner_password_hash(ws) is None:
        raise ServeError(
            f"refusing to listen on {host} without a password: anyone who can reach this "
            "machine could read and change your labels. Set one with "
            f"`faceloop serve --host {host} --password` (it asks for it), or put it in "
            "$FACELOOP_PASSWORD; only a hash is stored."
        )
    return WebSettings(allowed_hosts=None)


def check_port(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ServeError(
                    f"port {port} on {host} is already in use (is faceloop already running?); "
                    "choose another with --port"
                ) from None
            raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror}") from None


def warm_up(ws: Workspace) -> None:
    """Load faces, labels and the name index before the first request asks for them."""
    try:
        state = snapshot(ws)
        name_index(state)
        state.centroids()
    except Exception:
        log.exception("warming up failed; the first request will try again")


def serve(
    ws: Workspace,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    worker: bool = True,
    threads: int = 2,
    log_level: str = "info",
    secure_cookies: bool = False,
    announce: Callable[[str], None] | None = None,
) -> None:
    """Serve until interrupted; `announce` hears the address once the checks have passed."""
    settings = check_binding(ws, host)
    settings.secure_cookies = secure_cookies
    check_port(host, port)
    if announce:
        shown = f"[{host}]" if ":" in host else host
        announce(f"faceloop serving {ws.root} on http://{shown}:{port}  (Ctrl-C stops)")
    app = create_app(ws, settings)
    queue = queue_for(ws)
    if worker:
        queue.start_worker(threads)
    threading.Thread(target=warm_up, args=(ws,), daemon=True, name="warm-up").start()
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=log_level == "debug",
        timeout_graceful_shutdown=5,
        server_header=False,
        # X-Forwarded-For/-Proto are honoured by the app, from `[web] trusted_proxies` only
        # (web/proxy.py): uvicorn would take them from any loopback peer
        proxy_headers=False,
    )
    try:
        uvicorn.Server(config).run()
    finally:
        queue.stop_worker()
