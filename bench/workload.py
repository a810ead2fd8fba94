"""The events `bench.apply` puts on the queue: realistic Huawei status sequences, deterministic.

Each command follows one lifecycle (SENT, DELIVERED, then one terminal status, or stops early);
most commands were created through the API first, some are unknown to cmdkeeper until their first
callback. The events of all commands are interleaved in time order, with 8 worker threads some
are applied out of order, and the extra events up to the requested count are re-pushes: the very
same event again (a redelivered message) or the same status at a later time (a platform re-push
after the dedupe window). The expected end state of each command is known.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

from platforms.huawei_vocab import STATES as HUAWEI
from store.commands import NewCommand
from store.model import Event, Source, State, encode_timeline_entry

#: Lifecycles and their weights: a single terminal status each, so the end state is certain.
LIFECYCLES = (
    (("SENT", "DELIVERED", "SUCCESSFUL"), 70),
    (("SENT", "DELIVERED", "FAILED"), 8),
    (("SENT", "TIMEOUT"), 5),
    (("SENT", "DELIVERED"), 12),
    (("SENT",), 5),
)

#: Share of commands cmdkeeper never created (their first callback creates the record).
UNKNOWN_SHARE = 0.1

#: Commands start within this window, and their statuses follow 0.2-5 s apart, in ms.
START_SPREAD_MS = 60_000
STEP_MIN_MS, STEP_MAX_MS = 200, 5_000

#: Re-pushes: half repeat the very event, half the status at a later time.
SAME_EVENT_SHARE = 0.5


@dataclass(frozen=True)
class Workload:
    """Events in queue order, commands to create first, and each command's expected end."""

    events: list[Event]
    created: list[NewCommand]
    expected_state: dict[str, State]
    expected_timeline: dict[str, int]
    repushes: int


def generate(n_events: int, n_commands: int, n_devices: int, base_ms: int,
             seed: int = 42) -> Workload:
    rng = random.Random(seed)
    statuses, weights = zip(*LIFECYCLES, strict=True)
    timed: list[tuple[float, Event]] = []
    created: list[NewCommand] = []
    for i in range(n_commands):
        device, command = f"bench-dev-{i % n_devices:05d}", f"bench-cmd-{i:06d}"
        if rng.random() >= UNKNOWN_SHARE:
            created.append(NewCommand(
                platform="huawei", device_id=device, command_id=command, service_id="Valve",
                method="SET", paras={"open": i % 2 == 0}, created_ms=base_ms,
                stale_at_ms=base_ms + 3_600_000))
        t = rng.uniform(0, START_SPREAD_MS)
        for status in rng.choices(statuses, weights)[0]:
            t += rng.uniform(STEP_MIN_MS, STEP_MAX_MS)
            timed.append((t, Event(
                platform="huawei", device_id=device, command_id=command, state=HUAWEI[status],
                platform_status=status, at_ms=base_ms + int(t), source=Source.CALLBACK)))
    if len(timed) > n_events:
        raise ValueError(f"{n_commands} commands make {len(timed)} events, more than {n_events}")
    first = list(timed)
    while len(timed) < n_events:
        t, event = rng.choice(first)
        later = rng.uniform(1, 60_000)
        if rng.random() < SAME_EVENT_SHARE:
            timed.append((t + later, event))
        else:
            timed.append((t + later, replace(event, at_ms=event.at_ms + int(later))))
    timed.sort(key=lambda pair: pair[0])
    events = [e for _, e in timed]
    return Workload(events=events, created=created, expected_state=_end_states(events),
                    expected_timeline=_timeline_lengths(events, created),
                    repushes=n_events - len(first))


def _end_states(events: list[Event]) -> dict[str, State]:
    best: dict[str, State] = {}
    for e in events:
        if e.command_id not in best or e.state.rank > best[e.command_id].rank:
            best[e.command_id] = e.state
    return best


def _timeline_lengths(events: list[Event], created: list[NewCommand]) -> dict[str, int]:
    """Entries each timeline ends with: one per distinct event, plus the API's PENDING entry."""
    entries: dict[str, set[str]] = {}
    for e in events:
        entries.setdefault(e.command_id, set()).add(encode_timeline_entry(e))
    api = {c.command_id for c in created}
    return {cmd: len(es) + (cmd in api) for cmd, es in entries.items()}
