"""The figures of `bench.ingest`: sanity of each run, medians, ratios, and the printed report."""

from __future__ import annotations

from typing import Any

from bench.common import median, verdict

#: Our webhook must reach this share of the naive endpoint's requests/s...
TARGET_VS_NAIVE = 1.0
#: ...and this share of bare Flask's.
TARGET_VS_BARE = 0.6

#: Targets in the order of the first round; later rounds rotate it.
TARGETS = ("bare", "naive", "ours")


def sanity(name: str, s: dict[str, Any]) -> list[str]:
    """What is wrong with one run's answers and queue, if anything."""
    problems = []
    e = s["errors"]
    if s["other"] or e["status"] or e["timeout"]:
        problems.append(f"{s['other']} answers other than 200 accepted, {e['timeout']} timeouts")
    if s["duplicate"]:
        problems.append(f"{s['duplicate']} answered duplicate though every commandId is unique")
    if name != "bare":
        unanswered = s["issued"] - s["requests"]  # in flight when wrk stopped
        extra = s["enqueued"] - s["accepted"]
        if not 0 <= extra <= unanswered:
            problems.append(f"{s['accepted']} accepted but {s['enqueued']} enqueued "
                            f"({unanswered} requests were in flight when wrk stopped)")
    return problems


def run_line(name: str, s: dict[str, Any]) -> str:
    line = (f"{name:<5}: {s['rps']:6.0f} req/s, p99 {s['latency_us']['p99'] / 1000:6.2f} ms, "
            f"{s['requests']} answered, {s['enqueued']} enqueued, worker CPU {s['worker_cpu_s']} s,"
            f" foreign CPU {s['foreign_share'] + s['steal_share']:.0%}")
    if not s["clean"]:
        line += " [DISTURBED, kept anyway: retry budget spent]"
    for d in s["discarded"]:
        why = [w for w, ok in (("unbalanced", d["balanced"]), ("busy machine", d["quiet"]))
               if not ok]
        line += (f"\n         discarded {d['rps']:.0f} req/s ({', '.join(why)}: worker CPU "
                 f"{d['worker_cpu_s']} s, foreign CPU {d['foreign_share'] + d['steal_share']:.0%})")
    return line


def summarize(rounds: list[dict[str, dict[str, Any]]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in TARGETS:
        runs = [r[name] for r in rounds]
        out[name] = {
            "rps_median": median(x["rps"] for x in runs),
            "p99_ms_median": median(x["latency_us"]["p99"] for x in runs) / 1000,
            "p50_ms_median": median(x["latency_us"]["p50"] for x in runs) / 1000,
            "rps_rounds": [round(x["rps"]) for x in runs],
            "p99_ms_rounds": [x["latency_us"]["p99"] / 1000 for x in runs],
            "web_cpu_us_per_req_median": median(x["web_cpu_us_per_req"] for x in runs),
            "redis_cpu_us_per_req_median": median(x["redis_cpu_us_per_req"] for x in runs),
            "requests_total": sum(x["requests"] for x in runs),
            "accepted_total": sum(x["accepted"] for x in runs),
            "enqueued_total": sum(x["enqueued"] for x in runs),
            "disturbed_runs_kept": sum(not x["clean"] for x in runs),
            "runs_discarded": sum(len(x["discarded"]) for x in runs),
        }
    rps = {name: out[name]["rps_median"] for name in TARGETS}
    out["ratios"] = {
        "ours_vs_naive": rps["ours"] / rps["naive"],
        "ours_vs_bare": rps["ours"] / rps["bare"],
        "naive_vs_bare": rps["naive"] / rps["bare"],
        # The same ratio per round (runs minutes apart see the same machine), then the median.
        "ours_vs_naive_paired": median(r["ours"]["rps"] / r["naive"]["rps"] for r in rounds),
        # What the web workers spend per request, which other load on the machine hardly moves.
        "naive_vs_ours_cpu_per_req": out["naive"]["web_cpu_us_per_req_median"]
        / out["ours"]["web_cpu_us_per_req_median"],
    }
    return out


def report(summary: dict[str, Any], problems: list[str]) -> str:
    lines = [f"{'target':<7} {'req/s':>7} {'p99 ms':>7} {'p50 ms':>7} {'web CPU':>9} "
             f"{'Redis CPU':>10}   req/s per round",
             f"{'':<7} {'median':>7} {'median':>7} {'median':>7} {'us/req':>9} {'us/req':>10}"]
    for name in TARGETS:
        t = summary[name]
        lines.append(
            f"{name:<7} {t['rps_median']:>7.0f} {t['p99_ms_median']:>7.2f} "
            f"{t['p50_ms_median']:>7.2f} {t['web_cpu_us_per_req_median']:>9.0f} "
            f"{t['redis_cpu_us_per_req_median']:>10.0f}   {t['rps_rounds']}")
    r = summary["ratios"]
    lines.append(f"ours/naive = {r['ours_vs_naive']:.3f} (paired per round: "
                 f"{r['ours_vs_naive_paired']:.3f}; web CPU per request naive/ours: "
                 f"{r['naive_vs_ours_cpu_per_req']:.3f})")
    lines.append(f"ours/bare = {r['ours_vs_bare']:.3f}  naive/bare = {r['naive_vs_bare']:.3f}")
    disturbed = sum(summary[n]["disturbed_runs_kept"] for n in TARGETS)
    if disturbed:
        lines.append(f"WARNING: {disturbed} kept run(s) were disturbed; the figures are noisy")
    ours = summary["ours"]
    lines.append(f"sanity: ours answered {ours['accepted_total']} accepted and enqueued "
                 f"{ours['enqueued_total']} (the difference: requests in flight when wrk "
                 f"stopped) -> {'OK' if not problems else 'FAILED: ' + '; '.join(problems)}")
    lines.append(f"{verdict(r['ours_vs_naive'], TARGET_VS_NAIVE)}: ours/naive "
                 f"{r['ours_vs_naive']:.3f} against the target {TARGET_VS_NAIVE}")
    lines.append(f"{verdict(r['ours_vs_bare'], TARGET_VS_BARE)}: ours/bare "
                 f"{r['ours_vs_bare']:.3f} against the target {TARGET_VS_BARE}")
    return "\n".join(lines)


def passed(summary: dict[str, Any]) -> bool:
    """Whether both targets were met."""
    r = summary["ratios"]
    return r["ours_vs_naive"] >= TARGET_VS_NAIVE and r["ours_vs_bare"] >= TARGET_VS_BARE
