"""Fixtures of the metrics tests: this process's counting starts from zero in each test, and
`scrape()` reads `/metrics` as Prometheus would, parsed with prometheus_client's own parser."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from prometheus_client.parser import text_string_to_metric_families

from cmdkeeper import metrics

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture(autouse=True)
def fresh_counting(redis_client):
    """Forget what earlier tests counted in this process (Redis is emptied by redis_client)."""
    metrics.RECORDER.drain()
    yield
    metrics.RECORDER.drain()


def parse(text: str) -> Samples:
    """Every sample of a Prometheus text answer: (name, sorted labels) -> value."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float:
    """One sample's value; 0 when absent (a counter nothing has counted yet)."""
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def scrape(client) -> Callable[..., Samples]:
    def get(headers: dict[str, str] | None = None) -> Samples:
        response = client.get("/metrics", headers=headers or {})
        assert response.status_code == 200, response.data
        assert response.mimetype == "text/plain"
        return parse(response.get_data(as_text=True))

    return get
