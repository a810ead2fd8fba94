"""`GET /metrics`: Prometheus text (placeholder: being built)."""

from flask import Blueprint

bp = Blueprint("metrics", __name__)
