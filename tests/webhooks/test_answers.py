"""The webhooks' answers encoded up front are the bytes Flask would write for them.

Given the app, when a Huawei callback is taken (new, then repeated), then its answer is exactly
the body, status and headers that returning the dict from the view gave: the answers are the
platforms' contract (README, "HTTP interface").
"""

from __future__ import annotations

from flask import jsonify

from tests.conftest import WEBHOOK_TOKEN
from webhooks import huawei

URL = f"/webhooks/huawei/{WEBHOOK_TOKEN}"
CALLBACK = {"deviceId": "d1", "commandId": "c1",
            "result": {"resultCode": "SENT", "resultDetail": None}}


def test_the_pre_encoded_answers_are_what_jsonify_writes(app):
    with app.app_context():
        for new, status in ((True, "accepted"), (False, "duplicate")):
            assert huawei.ANSWERS[new] == jsonify({"status": status}).get_data()


def test_a_callback_is_answered_as_a_returned_dict_would_be(app, client):
    with app.app_context():
        expected = jsonify({"status": "accepted"})
    for answer in ("accepted", "duplicate"):
        r = client.post(URL, json=CALLBACK)
        assert (r.status_code, r.get_json()) == (200, {"status": answer})
        assert r.headers["Content-Type"] == expected.headers["Content-Type"]
        assert r.headers["Content-Length"] == str(len(r.get_data()))
