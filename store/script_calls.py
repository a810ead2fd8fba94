"""The typed call of every Lua script in `store/lua/`, one method per script, named as its file.

Each method's keyword parameters are the names of the script's header (`-- KEYS:` then
`-- ARGV:`, see `store/scripts.py`), in that order, so a caller names every key and argument
instead of counting positions; the values go into KEYS and ARGV by the header's names. A method
returns the script's reply as it is (its shape is in the script's comment); with `client=` a
pipeline, the call is queued there and its reply comes with the pipeline's.

Each body hands its parameters to `Registry.run` as `locals()`, read before anything else is
bound, so the signature is the whole call: nothing to keep in step by hand. `#name` counts of the
header are filled in there, and flags may be given as bools.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from store.scripts import Client, Registry


class Scripts(Registry):
    """The scripts of one Redis client (registered lazily, so a short-lived owner such as a
    device lock costs nothing for the scripts it never runs)."""

    def apply_event(
        self, *, cmd: str, device_cmds: str, device_stale: str, device_quiet: str,
        due_revoke: str, due_reconcile: str, cmd_index: str, command_states: str,
        pending_by_creation: str, pending_by_stale_at: str, events: str, events_seq: str,
        device_final: str, due_retain: str, device_held: str, device_in_flight: str,
        device_platform_ids: str, due_release: str, device_lock: str, platform: str,
        device_id: str, command_id: str, state: str, entry: str, attempt: int,
        platform_status: str, now_ms: int, reconcile_after_ms: int, device_member: str,
        max_timeline: int, request_reconcile: bool, at_ms: int, source: str, cmd_prefix: str,
        wait_if_locked: bool, release_at_ms: int, fill: Mapping[str, str],
        client: Client | None = None,
    ) -> list[Any]:
        return self.run("apply_event", locals(), client)

    def create_command(
        self, *, cmd: str, device_cmds: str, device_stale: str, device_quiet: str,
        due_revoke: str, due_reconcile: str, cmd_index: str, command_states: str,
        pending_by_creation: str, pending_by_stale_at: str, events: str, events_seq: str,
        device_final: str, due_retain: str, device_held: str, device_in_flight: str,
        device_platform_ids: str, due_release: str, command_id: str, device_id: str,
        created_ms: int, stale_at_ms: int, reconcile_at_ms: int, device_member: str, entry: str,
        max_timeline: int, supersede: bool, service_id: str, method: str, now_ms: int,
        cmd_prefix: str, platform: str, in_flight_limit: int, platform_command_id: str,
        min_left_ms: int, release_at_ms: int, expiry_check_ms: int,
        record: Mapping[str, str | int], client: Client | None = None,
    ) -> list[str]:
        return self.run("create_command", locals(), client)

    def list_device(self, *, device_cmds: str, cmd_prefix: str, limit: int, state: str,
                    client: Client | None = None) -> list[list[str]]:
        return self.run("list_device", locals(), client)

    def device_state(self, *, device_quiet: str, device_stale: str, device_held: str,
                     cmd_prefix: str, client: Client | None = None) -> list[list[str]]:
        return self.run("device_state", locals(), client)

    def next_held(self, *, device_held: str, device_in_flight: str, due_release: str,
                  cmd_prefix: str, in_flight_limit: int, now_ms: int, min_left_ms: int,
                  device_member: str, client: Client | None = None) -> list[str]:
        return self.run("next_held", locals(), client)

    def record_release(
        self, *, cmd: str, device_held: str, device_in_flight: str, device_platform_ids: str,
        device_stale: str, device_quiet: str, due_revoke: str, due_reconcile: str,
        command_id: str, platform_command_id: str, platform_status: str, expire_at_ms: int,
        released_at_ms: int, reconcile_at_ms: int, expiry_check_ms: int, entry: str,
        max_timeline: int,
        device_member: str, client: Client | None = None,
    ) -> int:
        return self.run("record_release", locals(), client)

    def finish_reconcile(self, *, device_quiet: str, device_stale: str, due_reconcile: str,
                         due_revoke: str, next_deadline_ms: int, device_member: str,
                         client: Client | None = None) -> int:
        return self.run("finish_reconcile", locals(), client)

    def refresh_due(self, *, device_quiet: str, device_stale: str, due_reconcile: str,
                    due_revoke: str, device_member: str, client: Client | None = None) -> int:
        return self.run("refresh_due", locals(), client)

    def park(self, *, device_stale: str, due_revoke: str, device_member: str,
             command_ids: Sequence[str], client: Client | None = None) -> int:
        return self.run("park", locals(), client)

    def request_reconcile(self, *, device_quiet: str, due_reconcile: str, at_ms: int,
                          device_member: str, client: Client | None = None) -> int:
        return self.run("request_reconcile", locals(), client)

    def record_error(self, *, cmd: str, device_stale: str, due_revoke: str, command_id: str,
                     error_json: str, now_ms: int, device_member: str,
                     client: Client | None = None) -> int:
        return self.run("record_error", locals(), client)

    def claim_due(self, *, due_index: str, until_ms: int, lease_until_ms: int, limit: int,
                  client: Client | None = None) -> list[str]:
        return self.run("claim_due", locals(), client)

    def claim_by_quota(self, *, due_index: str, until_ms: int, lease_until_ms: int,
                       scan_limit: int, quotas: Mapping[str, int],
                       client: Client | None = None) -> list[str]:
        return self.run("claim_by_quota", locals(), client)

    def ingest(
        self, *, queue_messages: str, queue: str, due_reconcile: str, dedupe_keys: Sequence[str],
        device_quiets: Sequence[str], dedupe_ttl_s: int,
        messages: Sequence[tuple[str, bytes]], hint_at_ms: int, device_members: Sequence[str],
        client: Client | None = None,
    ) -> list[int]:
        return self.run("ingest", locals(), client)

    def count_existing(self, *, cmd: str, command_states: str, pending_by_creation: str,
                       pending_by_stale_at: str, command_id: str,
                       client: Client | None = None) -> int:
        return self.run("count_existing", locals(), client)

    def rate_take(
        self, *, rate_window: str, rate_people: str, rate_create: str, rate_background: str,
        rate_learned_limit: str, pending_by_stale_at: str, rate_revoke_waiting: str,
        now_ms: int, window_ms: int, limit: int, member: str, kind: str, waiting_grace_ms: int,
        pace_parts: int, client: Client | None = None,
    ) -> list[int]:
        return self.run("rate_take", locals(), client)

    def rate_room(
        self, *, rate_window: str, rate_people: str, rate_background: str,
        rate_learned_limit: str, pending_by_stale_at: str, rate_revoke_waiting: str,
        now_ms: int, window_ms: int, limit: int, pace_parts: int,
        client: Client | None = None,
    ) -> int:
        return self.run("rate_room", locals(), client)

    def rate_learn(self, *, rate_window: str, rate_learned_limit: str, now_ms: int,
                   window_ms: int, learned_ttl_ms: int, min_limit: int,
                   client: Client | None = None) -> int:
        return self.run("rate_learn", locals(), client)

    def lock_release(self, *, lock: str, owner: str, client: Client | None = None) -> int:
        return self.run("lock_release", locals(), client)

    def lock_extend(self, *, lock: str, owner: str, ttl_ms: int,
                    client: Client | None = None) -> int:
        return self.run("lock_extend", locals(), client)

    def token_discard(self, *, token: str, access_token: str,
                      client: Client | None = None) -> int:
        return self.run("token_discard", locals(), client)

    def feed_trim(self, *, events: str, events_trimmed: str, before_ms: int,
                  client: Client | None = None) -> int:
        return self.run("feed_trim", locals(), client)

    def delivery_ok(self, *, subscription: str, deliveries: str, expected_cursor: str,
                    cursor: str, cursor_n: int, now_ms: int, command_id: str, entry: str,
                    ttl_ms: int, client: Client | None = None) -> int:
        return self.run("delivery_ok", locals(), client)

    def remove_final(self, *, device_final: str, due_retain: str, device_cmds: str,
                     command_states: str, removed: str, deliveries: str,
                     device_platform_ids: str, cmd_keys: Sequence[str],
                     index_keys: Sequence[str], device_member: str,
                     cutoff_ms: int, now_ms: int, platform: str, command_ids: Sequence[str],
                     client: Client | None = None) -> int:
        return self.run("remove_final", locals(), client)

    def forget_removed(self, *, removed: str, index_keys: Sequence[str], members: Sequence[str],
                       client: Client | None = None) -> int:
        return self.run("forget_removed", locals(), client)

    def index_final(self, *, cmd: str, device_final: str, due_retain: str, command_id: str,
                    device_member: str, client: Client | None = None) -> int:
        return self.run("index_final", locals(), client)

    def pack_records(self, *, cmd_keys: Sequence[str], client: Client | None = None) -> int:
        return self.run("pack_records", locals(), client)

    def read_records(self, *, cmd_keys: Sequence[str], fields: Sequence[str] = (),
                     client: Client | None = None) -> list[list[str]]:
        return self.run("read_records", locals(), client)
