"""The shuffled callback burst both end-to-end broker tests send (Redis: tests/e2e, RabbitMQ:
tests/rabbitmq): 50 commands, 40 of them known to the store, and 500 Huawei callbacks for them
in both body formats, with duplicates, in random order."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import requests

from platforms.huawei_vocab import STATES as HUAWEI
from store.commands import CommandStore, NewCommand

LIFECYCLES = [
    ["SENT"], ["SENT", "DELIVERED"], ["SENT", "DELIVERED", "SUCCESSFUL"],
    ["SENT", "DELIVERED", "FAILED"], ["SENT", "TIMEOUT"], ["SENT", "DELIVERED", "SUCCESSFUL"],
]
COMMANDS, KNOWN, SENDS = 50, 40, 500


def body(device: str, command: str, status: str, rng: random.Random) -> dict:
    if rng.random() < 0.2:
        return {"resource": "device.command.status", "event": "update",
                "notify_data": {"header": {"device_id": device},
                                "body": {"command_id": command, "status": status}}}
    return {"deviceId": device, "commandId": command,
            "result": {"resultCode": status, "resultDetail": None}}


@dataclass
class Burst:
    #: command id -> (device id, its statuses in order)
    commands: dict[str, tuple[str, list[str]]]
    #: each (device, command, status) once
    distinct: list[tuple[str, str, str]]
    payloads: list[dict]

    def post(self, url: str) -> list[requests.Response]:
        with requests.Session() as http, ThreadPoolExecutor(8) as pool:
            return list(pool.map(lambda p: http.post(url, json=p, timeout=10), self.payloads))

    def converged(self, record_of) -> bool:
        """Every command in the state its last status implies, each status once in its
        timeline; `record_of(command_id)` reads a record (None when missing)."""
        for cmd, (_, life) in self.commands.items():
            record = record_of(cmd)
            if record is None or record["state"] != HUAWEI[life[-1]].value:
                return False
            seen = [e["platform_status"] for e in record["timeline"] if e["source"] == "callback"]
            if sorted(seen) != sorted(life):
                return False
        return True


def prepare(store: CommandStore, seed: int) -> Burst:
    """Record the known commands and build the shuffled callbacks."""
    rng = random.Random(seed)
    commands = {f"cmd{i:02d}": (f"dev{i % 10}", rng.choice(LIFECYCLES)) for i in range(COMMANDS)}
    for i, (cmd, (device, _)) in enumerate(commands.items()):
        if i < KNOWN:
            store.create_command(NewCommand(
                platform="huawei", device_id=device, command_id=cmd, service_id="Valve",
                method="SET", paras={"i": i}, created_ms=1_700_000_000_000,
                stale_at_ms=1_800_000_000_000))
    distinct = [(dev, cmd, status) for cmd, (dev, life) in commands.items() for status in life]
    sends = distinct + [rng.choice(distinct) for _ in range(SENDS - len(distinct))]
    rng.shuffle(sends)
    return Burst(commands, distinct, [body(*s, rng) for s in sends])
