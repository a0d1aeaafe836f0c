"""Verify a spin of the wheel of points from what the app was shown: no server, no database.

Give it the `spin` object of a `spinWheel` answer as JSON (a file, or standard input), selected
with at least `serverSeed nonce commitment segmentIndex kind void segments { kind weight points }`:

    python -m scripts.verify_spin spin.json
    python -m scripts.verify_spin --commitment <hex shown before the spin> spin.json

It checks that SHA-256 of the revealed seed is the commitment (and the one shown before the
spin, if given), recomputes the landed segment with `games.wheel.land` (HMAC-SHA256 of the seed
over "wheel:{nonce}:{counter}", see `games/rng.py`) and checks what the spin paid. It prints one
line per finding and exits 0 when the spin checks out, 1 when it does not.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from games.rng import commitment
from games.wheel import Segment, SegmentKind, Void, verify


def problems(spin: dict[str, Any], shown: str | None = None) -> list[str]:
    """Everything about a spin that does not check out (empty: it is what the seed says)."""
    seed = bytes.fromhex(spin["serverSeed"])
    found = []
    if commitment(seed) != spin["commitment"]:
        found.append("the revealed seed does not hash to the spin's commitment")
    if shown is not None and shown != spin["commitment"]:
        found.append("the spin used another seed than the one committed before it")
    segments = [
        Segment(SegmentKind(s["kind"]), int(s["weight"]), int(s.get("points") or 0))
        for s in spin["segments"]
    ]
    void = Void(spin["void"]) if spin.get("void") else None
    try:
        outcome = verify(seed, int(spin["nonce"]), segments, void)
    except ValueError as error:
        return [*found, str(error)]
    if outcome.index != spin["segmentIndex"]:
        found.append(f"the seed lands on segment {outcome.index}, not {spin['segmentIndex']}")
    if outcome.kind.value != spin["kind"]:
        found.append(f"that segment pays {outcome.kind.value}, not {spin['kind']}")
    return found


def main(argv: list[str] | None = None) -> int:
    """Read the spin, print the verdict, return the exit status."""
    parser = argparse.ArgumentParser(description="Verify a spin of the wheel of points.")
    parser.add_argument("spin", nargs="?", help="the spin as JSON (default: standard input)")
    parser.add_argument("--commitment", help="the commitment the app showed before the spin")
    args = parser.parse_args(argv)
    if args.spin:
        with open(args.spin, encoding="utf-8") as file:
            spin = json.load(file)
    else:
        spin = json.load(sys.stdin)
    found = problems(spin, args.commitment)
    for problem in found:
        print(f"MISMATCH: {problem}")
    if not found:
        print(f"OK: nonce {spin['nonce']} lands on segment {spin['segmentIndex']} ({spin['kind']})")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
