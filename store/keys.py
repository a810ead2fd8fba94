"""Every Redis key name cmdkeeper uses, and nothing else.

Per-device keys carry the hash tag `{<platform>:<device_id>}` so one device's keys share a Redis
Cluster slot and a device's update can be a single script. Fleet-wide indexes are sorted sets
scored by epoch milliseconds, whose members are `<platform>:<device_id>`.

The dramatiq queue keys are dramatiq's own names; they are built here too because the webhook's
ingest script writes the message into the queue in the same round trip as its dedupe check.
"""

from __future__ import annotations

import zlib

PREFIX = "ck"


def device_tag(platform: str, device_id: str) -> str:
    """The member naming a device in the fleet-wide indexes (and the hash tag's content)."""
    return f"{platform}:{device_id}"


def command(platform: str, device_id: str, command_id: str) -> str:
    """String: one command's record, its timeline included, as a MessagePack map (written and
    read only by the scripts, store/lua/common.lua; an older hash record is read the same)."""
    return f"{PREFIX}:{{{platform}:{device_id}}}:cmd:{command_id}"


def device_commands(platform: str, device_id: str) -> str:
    """Sorted set: the device's command ids, scored by creation time."""
    return f"{PREFIX}:{{{platform}:{device_id}}}:cmds"


def device_stale(platform: str, device_id: str) -> str:
    """Sorted set: the device's PENDING command ids, scored by when each becomes stale."""
    return f"{PREFIX}:{{{platform}:{device_id}}}:stale"


def device_quiet(platform: str, device_id: str) -> str:
    """Sorted set: open command ids scored by when their silence calls for a reconcile.

    The member `*` is an explicit request (an unknown command was seen, a device woke up).
    """
    return f"{PREFIX}:{{{platform}:{device_id}}}:quiet"


def device_lock(platform: str, device_id: str) -> str:
    """String with a TTL: held while a command is being created on the device or a bulk
    cancel of the device runs, so a bulk cancel never catches a command being created."""
    return f"{PREFIX}:{{{platform}:{device_id}}}:lock"


def device_held(platform: str, device_id: str) -> str:
    """Sorted set: the device's held-back command ids (IoTDA: recorded PENDING, not yet handed
    to the platform), scored by creation time (one ms past the last if that is not later): the
    order they are released in."""
    return f"{PREFIX}:{{{platform}:{device_id}}}:held"


def device_in_flight(platform: str, device_id: str) -> str:
    """Set: the device's command ids handed to the platform by the hold-back queue and not yet
    final (at most IOTDA_IN_FLIGHT_PER_DEVICE)."""
    return f"{PREFIX}:{{{platform}:{device_id}}}:inflight"


def device_platform_ids(platform: str, device_id: str) -> str:
    """Hash: the platform's command id -> cmdkeeper's record id, for commands whose record is
    named by cmdkeeper (IoTDA commands created through cmdkeeper): pushes and history name the
    platform's id."""
    return f"{PREFIX}:{{{platform}:{device_id}}}:pids"


def dedupe(platform: str, device_id: str, command_id: str, platform_status: str) -> str:
    """String with a TTL: this exact status report was already accepted."""
    return f"{PREFIX}:{{{platform}:{device_id}}}:seen:{command_id}:{platform_status}"


#: Number of hashes the command -> device index is spread over, so each stays small and compact.
COMMAND_INDEX_BUCKETS = 4096


def command_device_index(platform: str, command_id: str) -> str:
    """Hash: command id -> device id, one bucket of it (the API names commands without device)."""
    bucket = zlib.crc32(command_id.encode()) % COMMAND_INDEX_BUCKETS
    return f"{PREFIX}:c2d:{platform}:{bucket}"


#: Sorted set: devices scored by the earliest stale deadline among their PENDING commands.
DUE_REVOKE = f"{PREFIX}:due:revoke"

#: Sorted set: devices scored by when they are next due for a history reconcile.
DUE_RECONCILE = f"{PREFIX}:due:reconcile"

#: Sorted set: devices with held-back commands that may be releasable, scored by when the
#: clock should send a release job if none has run by then (or by a claim's lease).
DUE_RELEASE = f"{PREFIX}:due:release"

#: Sorted set: devices scored by when their oldest final command is due for removal
#: (RETAIN_FINAL_S after it became final).
DUE_RETAIN = f"{PREFIX}:due:retain"


def device_final(platform: str, device_id: str) -> str:
    """Sorted set: the device's final command ids, scored by when each became final."""
    return f"{PREFIX}:{{{platform}:{device_id}}}:final"


#: Sorted set: removed commands (`<platform>:<command_id>`) scored by when they were removed; the
#: command -> device index keeps `~<removed_at_ms>` for them until the feed forgets them too, so
#: a GET can say "removed after the retention period".
REMOVED = f"{PREFIX}:removed"

#: Stream: the change feed, one entry per change of a command's state, fleet-wide (store/feed.py).
EVENTS = f"{PREFIX}:events"
#: String: how many events the feed has had (each event's `n`).
EVENTS_SEQ = f"{PREFIX}:events:n"
#: String: the id of the newest event the retention sweep removed from the feed; an `after`
#: below it asks for events that are gone.
EVENTS_TRIMMED = f"{PREFIX}:events:trimmed"

#: Sorted set: subscription ids, scored by when each was created.
SUBSCRIPTIONS = f"{PREFIX}:subs"


def subscription(subscription_id: str) -> str:
    """Hash: one outbound webhook subscription: url, secret, cursor, health."""
    return f"{PREFIX}:sub:{subscription_id}"


def subscription_lock(subscription_id: str) -> str:
    """String with a TTL: held by the one worker delivering to this subscription, so its
    events leave in feed order."""
    return f"{PREFIX}:sub:{subscription_id}:lock"


def deliveries(platform: str, device_id: str) -> str:
    """Hash with a TTL (the feed's retention): command id -> when each subscriber took each of
    its events, for the command's timeline."""
    return f"{PREFIX}:{{{platform}:{device_id}}}:dlv"


def rate_window(name: str) -> str:
    """Sorted set: the call log of one platform app's shared budget, scored by time."""
    return f"{PREFIX}:rate:{name}"


def rate_class_window(name: str, kind: str) -> str:
    """Sorted set: the calls one class of work (people, create, background) made from the
    budget, scored by time: the rules that count a class's own calls read it."""
    return f"{PREFIX}:rate:{name}:{kind}"


def rate_learned_limit(name: str) -> str:
    """String with a TTL: a lower limit learned from the platform's throttling answer."""
    return f"{PREFIX}:rate:{name}:learned"


def rate_revoke_waiting(name: str) -> str:
    """String with a TTL: a revocation is waiting for a slot of this budget; others hold off."""
    return f"{PREFIX}:rate:{name}:revoke-waiting"


def platform_token(name: str) -> str:
    """Hash: the platform app's shared access token (token, expiry, refresh token)."""
    return f"{PREFIX}:token:{name}"


def platform_token_lock(name: str) -> str:
    """String: held by the one process logging in for this platform app."""
    return f"{PREFIX}:token:{name}:lock"


#: String: the clock's leader lock (holder id, with a TTL).
CLOCK_LOCK = f"{PREFIX}:clock:lock"


def command_states(platform: str) -> str:
    """Hash: state -> how many of the platform's commands are in it (kept by the scripts that
    create commands and move their states)."""
    return f"{PREFIX}:stats:{platform}:states"


def pending_by_creation(platform: str) -> str:
    """Sorted set: the platform's PENDING command ids, scored by creation time."""
    return f"{PREFIX}:stats:{platform}:pending"


def pending_by_stale_at(platform: str) -> str:
    """Sorted set: the platform's PENDING command ids, scored by when each is (was) stale."""
    return f"{PREFIX}:stats:{platform}:stale"


#: Hash: the counters of every process, summed (field `<metric>|<label>=<value>|...`).
METRIC_COUNTERS = f"{PREFIX}:metrics"


def metric_minute(minute: int) -> str:
    """Hash with a TTL: fleet figures counted during one minute (epoch ms // 60000)."""
    return f"{PREFIX}:metrics:minute:{minute}"


def metric_five(bucket: int) -> str:
    """Hash with a TTL: the same figures for five minutes (epoch ms // 300000), kept a day."""
    return f"{PREFIX}:metrics:5min:{bucket}"


def device_actions(platform: str, device_id: str) -> str:
    """List with a TTL: what operators asked of the device (revoke, reconcile, replay), newest
    first, each `<at_ms>|<who>|<action>|<detail>`; the newest few only (store/actions.py)."""
    return f"{PREFIX}:{{{platform}:{device_id}}}:asked"


#: dramatiq's key namespace in Redis (its default) and the queues cmdkeeper's actors use, named
#: here only: workers/broker.py and workers/actors.py take them from here, and the webhook's
#: ingest script and the queue gauges address dramatiq's own keys with them.
DRAMATIQ_NAMESPACE = "dramatiq"
#: The queue of every actor but the revoking ones.
WORK_QUEUE = "cmdkeeper"
#: The revoking actors' own queue (workers/actors.py says why).
REVOKE_QUEUE = "cmdkeeper-revoke"
#: The outbound webhooks' queue: deliveries never wait behind a backlog of reconciles.
NOTIFY_QUEUE = "cmdkeeper-notify"
WORK_QUEUES = (WORK_QUEUE, REVOKE_QUEUE, NOTIFY_QUEUE)


def work_queue_keys(queue_name: str) -> tuple[str, str, str]:
    """dramatiq's own keys of one queue: the list of ready message ids, the list of delayed ones
    (`.DQ`) and the sorted set of dead-lettered ones (`.XQ`)."""
    ready = dramatiq_queue(DRAMATIQ_NAMESPACE, queue_name)
    return ready, f"{ready}.DQ", dramatiq_dead_letters(DRAMATIQ_NAMESPACE, queue_name)


def dramatiq_queue(namespace: str, queue_name: str) -> str:
    """List: message ids waiting on a dramatiq queue (dramatiq's own key name)."""
    return f"{namespace}:{queue_name}"


def dramatiq_queue_messages(namespace: str, queue_name: str) -> str:
    """Hash: message id -> encoded message, for a dramatiq queue (dramatiq's own key name)."""
    return f"{namespace}:{queue_name}.msgs"


def dramatiq_dead_letters(namespace: str, queue_name: str) -> str:
    """Sorted set: dead-lettered message ids of a dramatiq queue, scored by when each died
    (dramatiq's own key name)."""
    return f"{namespace}:{queue_name}.XQ"


def dramatiq_dead_letter_messages(namespace: str, queue_name: str) -> str:
    """Hash: dead-lettered message id -> encoded message (dramatiq's own key name)."""
    return f"{namespace}:{queue_name}.XQ.msgs"
