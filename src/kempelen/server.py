"""The production HTTP server behind ``kempelen serve``: gunicorn with threaded workers."""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication

from kempelen.observability.serve import gunicorn_options


class _Server(BaseApplication):  # type: ignore[misc]
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from kempelen.wsgi import application

        return application


def run_http(*, host: str, port: int, workers: int, threads: int) -> None:
    _Server(
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "threads": threads,
            "worker_class": "gthread",
            "timeout": 60,
            "graceful_timeout": 20,
            "keepalive": 5,
            "accesslog": None,
            "errorlog": "-",
            "loglevel": "warning",
            **gunicorn_options(),  # metrics of exited workers, JSON logs
        }
    ).run()
