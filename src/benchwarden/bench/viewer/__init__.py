"""``benchwarden view``: a local web app over the results database."""

from benchwarden.bench.viewer.app import create_viewer_app

__all__ = ["create_viewer_app"]
