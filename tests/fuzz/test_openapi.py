"""The OpenAPI description against the app: schemathesis generates requests from it.

Given the description the app serves at /api/v1/openapi.json, when schemathesis sends what it
describes (and variations outside it) with the bearer token, through WSGI, to an app whose
platforms are the emulator, then no answer is a 5xx and every answer conforms to it.

(The schema is built from `api.openapi.spec()` at import, and the served document is checked
to be that same one: schemathesis' lazy `from_fixture` loading breaks on pytest 9, and the app
needs a Redis, which only exists once a test runs.)
"""

from __future__ import annotations

import re

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

from api import openapi
from store.commands import NewCommand
from store.model import Event, Source, State
from tests.conftest import API_TOKEN


class RunningTestsApp:
    """The WSGI app schemathesis calls: it passes each request on to the running test's app."""

    app = None

    def __call__(self, environ, start_response):
        return self.app(environ, start_response)


RUNNING = RunningTestsApp()
#: The token through the description's own security scheme, so that schemathesis can also send
#: requests without it (and expect a 401). Unknown query parameters are ignored by design.
CONFIG = schemathesis.Config.from_dict({
    "auth": {"openapi": {"bearer": {"bearer": API_TOKEN}}},
    "generation": {"allow-extra-parameters": False},
})
schema = schemathesis.openapi.from_dict(openapi.spec(), config=CONFIG)
schema.app = RUNNING


def test_the_app_serves_this_description_to_token_holders_only(client, auth):
    response = client.get("/api/v1/openapi.json", headers=auth)
    assert response.status_code == 200 and response.json == openapi.spec()
    assert response.json["openapi"].startswith("3.")
    assert client.get("/api/v1/openapi.json").status_code == 401


def test_the_description_is_valid_openapi():
    schema.validate()  # against the OpenAPI 3.0 meta-schema; raises on the first problem


def test_every_route_of_the_api_is_described(app):
    described = {(path, method.upper()) for path, item in openapi.spec()["paths"].items()
                 for method in item}
    served = {(re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule), method)
              for rule in app.url_map.iter_rules()
              if rule.rule.startswith(("/api/", "/healthz"))
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert served == described


@pytest.fixture
def example_record(store, clock):
    """The description's example command, with a timeline of every kind and a kept error, so
    that reading it checks the whole record schema."""
    t0 = clock()
    store.create_command(NewCommand(
        platform="huawei", device_id=openapi.EXAMPLE_DEVICE, command_id=openapi.EXAMPLE_COMMAND,
        service_id="Valve", method="SET", paras={"open": 1}, created_ms=t0,
        stale_at_ms=t0 + 60_000, expire_at_ms=t0 + 3_600_000))
    for state, source in ((State.SENT, Source.CALLBACK), (State.PENDING, Source.RECONCILE)):
        store.apply_event(Event("huawei", openapi.EXAMPLE_DEVICE, openapi.EXAMPLE_COMMAND, state,
                                state.value, t0 + 10, source), t0 + 20)
    store.record_error("huawei", openapi.EXAMPLE_DEVICE, openapi.EXAMPLE_COMMAND,
                       {"platform": "huawei", "code": "100022", "text": "wrong state",
                        "http_status": 400}, t0 + 30)


def test_the_example_record_is_there_to_read(client, auth, example_record):
    # guards the property below: the example command id must reach a record, not a 404
    response = client.get(f"/api/v1/commands/huawei/{openapi.EXAMPLE_COMMAND}", headers=auth)
    assert response.status_code == 200
    assert [e["applied"] for e in response.json["timeline"]] == [True, True, False]
    assert response.json["error"]["code"] == "100022"


@schema.parametrize()
@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_the_api_keeps_its_description(case, platform_app, example_record):
    RUNNING.app = platform_app
    # a valid body may still name a device the platform does not know (404, or OneNET's 422)
    case.call_and_validate(excluded_checks=[checks.positive_data_acceptance])
