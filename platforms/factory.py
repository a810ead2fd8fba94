"""Builds the configured platform gateways: client, shared token and shared rate limiter."""

from __future__ import annotations

import redis
import requests

from cmdkeeper.clock import Clock
from cmdkeeper.config import Config
from cmdkeeper.metric_names import count_rate_limit_wait
from platforms.gateway import Gateway
from platforms.huawei import HuaweiClient
from platforms.huawei_gateway import HuaweiGateway
from platforms.onenet import OneNetClient
from platforms.onenet_gateway import OneNetGateway
from platforms.shared_token import SharedToken
from store.ratelimit import WINDOW_MARGIN_MS, RateLimiter
from store.tokens import TokenStore

#: Each platform's gateway type: what is known of a platform without building its client.
GATEWAY_TYPES: dict[str, type[HuaweiGateway] | type[OneNetGateway]] = {
    "huawei": HuaweiGateway, "onenet": OneNetGateway}


def canceled_status(platform: str) -> str:
    """The platform's own word for a command it cancelled, as its gateway states it."""
    return GATEWAY_TYPES[platform].canceled_status


def _window_ms(config: Config) -> int:
    return config.platform_rate_window_s * 1000 + WINDOW_MARGIN_MS


def huawei_gateway(config: Config, client: redis.Redis, clock: Clock,
                   session: requests.Session | None = None) -> HuaweiGateway:
    config.require("huawei_base_url", "huawei_app_id", "huawei_secret")
    name = f"huawei:{config.huawei_app_id}"
    limiter = RateLimiter(client, name, config.huawei_rate_per_min, window_ms=_window_ms(config),
                          on_wait=count_rate_limit_wait)
    huawei = HuaweiClient(
        session or requests.Session(), config.huawei_base_url, config.huawei_app_id,
        config.huawei_secret, limiter=limiter,
        token_for=lambda c: SharedToken(TokenStore(client, name), c.login, c.refresh))
    return HuaweiGateway(huawei, clock)


def onenet_gateway(config: Config, client: redis.Redis, clock: Clock,
                   session: requests.Session | None = None) -> OneNetGateway:
    config.require("onenet_base_url", "onenet_api_key")
    limiter = RateLimiter(client, "onenet", config.onenet_rate_per_min,
                          window_ms=_window_ms(config), on_wait=count_rate_limit_wait)
    onenet = OneNetClient(session or requests.Session(), config.onenet_base_url,
                          config.onenet_api_key, limiter=limiter)
    return OneNetGateway(onenet, clock)


def build_gateways(config: Config, client: redis.Redis, clock: Clock) -> dict[str, Gateway]:
    """A gateway for each platform whose base URL is configured."""
    gateways: dict[str, Gateway] = {}
    if config.huawei_base_url:
        gateways["huawei"] = huawei_gateway(config, client, clock)
    if config.onenet_base_url:
        gateways["onenet"] = onenet_gateway(config, client, clock)
    return gateways
