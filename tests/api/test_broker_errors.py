"""A job broker that is away (RabbitMQ, with BROKER_URL) is a 503 the client can retry, not a
500: nothing was accepted."""

from dramatiq.errors import ConnectionClosed


def test_a_broker_outage_is_a_503_with_retry_after(app):
    @app.route("/_test/broker-down")
    def broker_down():
        raise ConnectionClosed(OSError("connection refused"))

    r = app.test_client().get("/_test/broker-down")

    assert r.status_code == 503
    assert r.get_json()["error"]["code"] == "broker_unavailable"
    assert r.headers["Retry-After"] == "5"
    assert "refused" not in r.get_data(as_text=True)
