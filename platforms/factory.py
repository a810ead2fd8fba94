"""Builds the configured platform gateways: client, shared token and shared rate limiter."""

from __future__ import annotations

import redis
import requests

from cmdkeeper.clock import Clock, system_clock
from cmdkeeper.config import Config
from cmdkeeper.metric_names import count_rate_limit_wait
from platforms.gateway import Gateway
from platforms.huawei import HuaweiClient
from platforms.huawei_gateway import HuaweiGateway
from platforms.iotda import IotdaClient
from platforms.iotda_gateway import IotdaGateway
from platforms.onenet import OneNetClient
from platforms.onenet_gateway import OneNetGateway
from platforms.shared_token import SharedToken
from store.ratelimit import WINDOW_MARGIN_MS, RateLimiter
from store.tokens import TokenStore

#: Each platform's gateway type: what is known of a platform without building its client.
GATEWAY_TYPES: dict[str, type[HuaweiGateway] | type[OneNetGateway] | type[IotdaGateway]] = {
    "huawei": HuaweiGateway, "onenet": OneNetGateway, "iotda": IotdaGateway}


def canceled_status(platform: str) -> str:
    """The platform's own word for a command it cancelled, as its gateway states it."""
    return GATEWAY_TYPES[platform].canceled_status


#: IoTDA counts calls per second. Its budget window is a second and a little more, for the same
#: reason as the minute windows' margin (calls reach the platform some ms after we count them),
#: scaled down: a whole second of margin would halve the rate.
IOTDA_WINDOW_MS = 1_000 + 100


def _window_ms(config: Config) -> int:
    return config.platform_rate_window_s * 1000 + WINDOW_MARGIN_MS


def budget(platform: str, config: Config, client: redis.Redis,
           clock: Clock = system_clock) -> RateLimiter:
    """The shared call budget of a platform app, as every process that calls it (or plans work
    for it, as the clock does) must see it: one name, limit and window for all of them."""
    if platform == "huawei":
        name, limit, window_ms = (f"huawei:{config.huawei_app_id}", config.huawei_rate_per_min,
                                  _window_ms(config))
    elif platform == "onenet":
        name, limit, window_ms = "onenet", config.onenet_rate_per_min, _window_ms(config)
    else:
        name, limit, window_ms = (f"iotda:{config.iotda_project_id}", config.iotda_rate_per_s,
                                  IOTDA_WINDOW_MS)
    return RateLimiter(client, name, limit, window_ms=window_ms, clock=clock,
                       on_wait=count_rate_limit_wait)


def configured_platforms(config: Config) -> list[str]:
    """The platforms this deployment has a base URL (IoTDA: an endpoint) for."""
    return [p for p, url in (("huawei", config.huawei_base_url), ("onenet", config.onenet_base_url),
                             ("iotda", config.iotda_endpoint)) if url]


def huawei_gateway(config: Config, client: redis.Redis, clock: Clock,
                   session: requests.Session | None = None) -> HuaweiGateway:
    config.require("huawei_base_url", "huawei_app_id", "huawei_secret")
    name = f"huawei:{config.huawei_app_id}"
    limiter = budget("huawei", config, client)
    huawei = HuaweiClient(
        session or requests.Session(), config.huawei_base_url, config.huawei_app_id,
        config.huawei_secret, limiter=limiter,
        token_for=lambda c: SharedToken(TokenStore(client, name), c.login, c.refresh))
    return HuaweiGateway(huawei, clock)


def onenet_gateway(config: Config, client: redis.Redis, clock: Clock,
                   session: requests.Session | None = None) -> OneNetGateway:
    config.require("onenet_base_url", "onenet_api_key")
    limiter = budget("onenet", config, client)
    onenet = OneNetClient(session or requests.Session(), config.onenet_base_url,
                          config.onenet_api_key, limiter=limiter)
    return OneNetGateway(onenet, clock)


def iotda_gateway(config: Config, client: redis.Redis, clock: Clock,
                  session: requests.Session | None = None) -> IotdaGateway:
    config.require("iotda_endpoint", "iotda_project_id", "iotda_ak", "iotda_sk")
    limiter = budget("iotda", config, client)
    iotda = IotdaClient(session or requests.Session(), config.iotda_endpoint,
                        config.iotda_project_id, config.iotda_ak, config.iotda_sk,
                        limiter=limiter, instance_id=config.iotda_instance_id)
    return IotdaGateway(iotda, clock)


#: Each platform's builder, by name (the CLI builds only the one it needs).
BUILDERS = {"huawei": huawei_gateway, "onenet": onenet_gateway, "iotda": iotda_gateway}


def build_gateways(config: Config, client: redis.Redis, clock: Clock) -> dict[str, Gateway]:
    """A gateway for each platform whose base URL (IoTDA: endpoint) is configured."""
    builders = {"huawei": huawei_gateway, "onenet": onenet_gateway, "iotda": iotda_gateway}
    return {p: builders[p](config, client, clock) for p in configured_platforms(config)}
