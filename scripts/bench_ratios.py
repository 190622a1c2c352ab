"""Print the ratio table of a pytest-benchmark JSON run and check the goals.

Usage: python scripts/bench_ratios.py .bench/results.json [--markdown]

For every benchmark group, each ``ours`` entry is compared with each ``peer`` entry of the
same group: ratio = our median time / peer median time (lower is better). A goal is met
when ratio <= goal; the run fails (exit 1) only when ratio > fail_at × goal (default 5), a margin that
timer noise on a shared 2-core machine cannot trip. An ``ours`` entry with ``max_ms`` has an absolute
goal per call instead (where no peer does the same job), with the same noise margin.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict


def _fail_at(info: dict, peer: str) -> float:
    """The noise margin of one goal: ``fail_at`` is a number, or a dict peer -> number (default 5)."""
    f = info.get("fail_at", 5.0)
    return float(f.get(peer, 5.0)) if isinstance(f, dict) else float(f)


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    with open(argv[0], encoding="utf-8") as fh:
        data = json.load(fh)
    markdown = "--markdown" in argv
    groups: dict[str, list[dict]] = defaultdict(list)
    for b in data.get("benchmarks", []):
        groups[b.get("group") or b["name"]].append(b)
    failures: list[str] = []
    rows: list[tuple[str, ...]] = []
    for group, items in sorted(groups.items()):
        ours = [b for b in items if b.get("extra_info", {}).get("role") == "ours"]
        peers = {b["extra_info"]["impl"]: b for b in items if b.get("extra_info", {}).get("role") == "peer"}
        for o in ours:
            info = o["extra_info"]
            n = max(int(info.get("n", 1)), 1)
            t_o = o["stats"]["median"]
            max_ms = info.get("max_ms")
            if max_ms is None:
                rows.append((group, info["impl"], f"{t_o / n * 1e9:,.1f} ns/item", "", "", ""))
            else:  # an absolute goal per call (where no peer does the same job)
                ms = t_o * 1e3
                if ms <= max_ms:
                    verdict = "met"
                elif ms <= max_ms * _fail_at(info, ""):
                    verdict = "MISSED (within noise margin)"
                else:
                    verdict = "FAILED"
                    failures.append(f"{group}: {info['impl']} {ms:.1f} ms > goal {max_ms} ms")
                rows.append((group, info["impl"], f"{ms:,.1f} ms/call", "", f"<= {max_ms} ms", verdict))
            for peer_name, p in sorted(peers.items()):
                t_p = p["stats"]["median"]
                n_p = max(int(p["extra_info"].get("n", 1)), 1)
                ratio = (t_o / n) / (t_p / n_p)
                goal = info.get("goals", {}).get(peer_name)
                if goal is None:
                    verdict = "(no goal)"
                elif ratio <= goal:
                    verdict = "met"
                elif ratio <= goal * _fail_at(info, peer_name):
                    verdict = "MISSED (within noise margin)"
                else:
                    verdict = "FAILED"
                    failures.append(f"{group}: {info['impl']} vs {peer_name} ratio {ratio:.3f} > goal {goal}")
                rows.append(
                    (
                        group,
                        f"  vs {peer_name}",
                        f"{t_p / n_p * 1e9:,.1f} ns/item",
                        f"{ratio:.3f}",
                        "" if goal is None else f"<= {goal}",
                        verdict,
                    )
                )
    header = ("group", "implementation", "time", "ratio", "goal", "verdict")
    if markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for r in rows:
            print("| " + " | ".join(r) + " |")
    else:
        widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=False)]
        for r in (header, *rows):
            print("  ".join(str(x).ljust(w) for x, w in zip(r, widths, strict=False)))
    if failures:
        print("\nbenchmark goals failed beyond the noise margin:")
        for f in failures:
            print("  " + f)
        return 1
    print(f"\n{len(rows)} rows; no goal failed beyond its noise margin")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
