"""The web app: pages, the JSON API and the server that runs them with the job worker."""

from faceloop.web.app import WebSettings, create_app

__all__ = ["WebSettings", "create_app"]
