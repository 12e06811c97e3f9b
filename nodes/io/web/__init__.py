"""Watch a graph from a browser: live MJPEG video, metrics (JSON and Prometheus) and hot keys."""
from .view import WebView

__all__ = ['WebView']
