"""The HTTP API and dashboard page (FastAPI), built by :func:`workers.api.app.create_app`.

:func:`serve_in_thread` runs an app with uvicorn in a background thread, which is how
``feedwatch run --serve PORT`` and the tests serve it beside other work.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import uvicorn


@dataclass
class ServerThread:
    """A running uvicorn server; ``url`` is where it listens, ``stop`` ends it."""

    server: uvicorn.Server
    thread: threading.Thread
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self, timeout: float = 10.0) -> None:
        state = getattr(self.server.config.app, "state", None)
        if state is not None and hasattr(state, "fw"):
            state.fw.close_streams()
        self.server.should_exit = True
        self.thread.join(timeout)


def serve_in_thread(
    app: Any, host: str = "127.0.0.1", port: int = 0, *, start_timeout: float = 15.0
) -> ServerThread:
    """Serve ``app`` on ``host:port`` (0 = any free port) from a daemon thread."""
    import uvicorn  # noqa: PLC0415 - keep `import workers.api` light

    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        lifespan="on",
        access_log=False,
        timeout_graceful_shutdown=2,  # open live streams must not hold a shutdown
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"api-{host}:{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"the API did not start on {host}:{port}")
        time.sleep(0.02)
    bound = server.servers[0].sockets[0].getsockname()[1]
    return ServerThread(server, thread, host, int(bound))
