"""Dashboard routes (placeholder: the pages are being built)."""

from flask import Blueprint

bp = Blueprint("dashboard", __name__)
