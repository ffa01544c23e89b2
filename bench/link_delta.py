"""`cpgraph link` after a small delta: incremental against full on the same data.

Starts from a store that ``bench/link_command.py`` loaded and linked in full (copied,
never changed), makes a delta of about ``--fraction`` of the mentions as a source
system would send it (re-exports of the CSV person files of a few systems, an hour
newer: ``--changed`` share of the delta moved house (postcode and address of another
row), the rest new rows, copies of existing rows under new local ids), loads it, then
on one copy runs ``cpgraph link`` (incremental) and on another ``cpgraph link --full``,
each timed and sampled as in ``bench/link_command.py``. Then, optionally, ``cpgraph
link`` again on the incremental copy (nothing changed).

Usage::

    .venv/bin/python bench/link_delta.py --extracts /tmp/mem/pop --linked /tmp/inc/base \\
        --work /tmp/inc/delta --json /tmp/inc/delta.json

Prints one line per command and a JSON summary.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import shutil
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from link_command import CPGRAPH, run  # noqa: E402

# (system folder, person file, local id column): CSV person files with an address
SYSTEMS = (
    ("bham-cs", "persons.csv", "person_id"),
    ("sandwell-cs", "persons.csv", "person_id"),
    ("wmp-niche", "nominals.csv", "nominal_id"),
    ("wmerc-pole", "nominals.csv", "nominal_id"),
)


def make_delta(extracts: Path, out: Path, mentions: int, fraction: float, changed: float,
               seed: int, days: int = 0) -> dict[str, int]:  # fmt: skip
    """Write the delta's extract folders under ``out``; counts of changed and new rows.
    ``days``: how many days after the population's extract the delta's was taken (0:
    an hour later, the same day; 1: a nightly delta, which moves the reference date)."""
    rng = random.Random(seed)
    sizes = {}
    tables = {}
    for system, name, _ in SYSTEMS:
        text = (extracts / system / name).read_text(encoding="utf-8")
        tables[system] = list(csv.reader(io.StringIO(text)))
        sizes[system] = len(tables[system]) - 1
    total = sum(sizes.values())
    want = round(mentions * fraction)
    counts = {"changed": 0, "new": 0}
    for system, name, id_col in SYSTEMS:
        rows = tables[system]
        header, body = rows[0], rows[1:]
        n = round(want * sizes[system] / total)
        n_changed = round(n * changed)
        picked = rng.sample(range(len(body)), n)
        addr, pc, ident = header.index("address"), header.index("postcode"), header.index(id_col)
        for i in picked[:n_changed]:  # moved house: another row's address
            donor = body[rng.randrange(len(body))]
            body[i][addr], body[i][pc] = donor[addr], donor[pc]
        new = []
        for i in picked[n_changed:]:  # a new record of a known person, in the same system
            row = list(body[i])
            row[ident] = row[ident] + "D"
            new.append(row)
        counts["changed"] += n_changed
        counts["new"] += len(new)
        folder = out / system
        shutil.copytree(extracts / system, folder)
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\r\n").writerows([header, *body, *new])
        (folder / name).write_text(buf.getvalue(), encoding="utf-8")
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        manifest.pop("files", None)  # a re-export no longer claims the generator's digests
        stamp = manifest["extracted_at"]  # ...T02:00:00Z -> an hour later (and days on)
        taken = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        taken += timedelta(days=days, hours=1)
        manifest["extracted_at"] = taken.strftime("%Y-%m-%dT%H:%M:%SZ")
        (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return counts


def compare_persons(work: Path, env_inc: dict[str, str], env_full: dict[str, str]) -> dict:
    """How far the incremental run's persons are from the full run's on the same data.

    Both stores' links are exported (``cpgraph export links``) and each person is named
    by its smallest record key (person ids may differ: only the partitions are compared);
    a mention differs when its person's name does, i.e. it joined or left a person.
    """
    frames = []
    for name, env in (("inc", env_inc), ("full", env_full)):
        path = work / f"links-{name}.csv"
        done = subprocess.run(
            [*CPGRAPH, "export", "links", "--out", str(path)], env=env, capture_output=True
        )
        if done.returncode != 0:
            return {"error": f"export links ({name}) failed: rc {done.returncode}"}
        f = pd.read_csv(path, dtype=str, usecols=["record_key", "person_id"])
        path.unlink()
        # a person's canonical name: the smallest record key among its mentions
        f["canon"] = f.groupby("person_id")["record_key"].transform("min")
        frames.append(f.set_index("record_key")["canon"].rename(name))
    both = pd.concat(frames, axis=1)
    differ = both["inc"] != both["full"]
    return {
        "mentions": int(len(both)),
        "persons_incremental": int(both["inc"].nunique()),
        "persons_full": int(both["full"].nunique()),
        "mentions_differing": int(differ.sum()),
    }


def main(argv: list[str] | None = None) -> int:
    """Run the bench (see the module docstring)."""
    from linkage_speed import machine

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--extracts", type=Path, required=True, help="the population linked")
    ap.add_argument("--linked", type=Path, required=True, help="a linked store's data dir")
    ap.add_argument("--work", type=Path, required=True, help="scratch dir (replaced)")
    ap.add_argument("--mentions", type=int, default=141_009, help="mentions in the store")
    ap.add_argument("--fraction", type=float, default=0.01)
    ap.add_argument("--changed", type=float, default=0.5, help="share of the delta changed")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--days", type=int, default=0, help="the delta's extract, days later")
    ap.add_argument("--no-full", action="store_true", help="skip the full run on the delta")
    ap.add_argument("--again", action="store_true", help="then link again, unchanged")
    ap.add_argument("--spec", type=Path, default=None, help="link with this spec file")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    # (a spec of the base's own version keeps the first run incremental after a spec change)
    spec = ["--spec", str(args.spec.resolve())] if args.spec else []
    if args.work.exists():
        shutil.rmtree(args.work)
    args.work.mkdir(parents=True, mode=0o700)
    delta = args.work / "delta"
    counts = make_delta(
        args.extracts, delta, args.mentions, args.fraction, args.changed, args.seed, args.days
    )
    out: dict = {"machine": machine(), "delta": counts, "runs": []}
    print(json.dumps(out["machine"]), counts, flush=True)
    inc = args.work / "inc"
    shutil.copytree(args.linked, inc, symlinks=True)
    (inc / "cpgraph.lock").unlink(missing_ok=True)
    env = {**os.environ, "CPGRAPH_DATA_DIR": str(inc), "COLUMNS": "400"}
    folders = sorted(str(p) for p in delta.iterdir())
    r = run([*CPGRAPH, "load", "--bulk", "never", *folders], env=env, label="cpgraph load (delta)")
    out["runs"].append(r)
    if r["returncode"] != 0:
        raise SystemExit("the delta did not load")
    if not args.no_full:
        full = args.work / "full"
        shutil.copytree(inc, full, symlinks=True)
    out["runs"].append(run([*CPGRAPH, "link", *spec], env, "cpgraph link (delta, incremental)"))
    if args.again:
        out["runs"].append(run([*CPGRAPH, "link", *spec], env, "cpgraph link (no change)"))
    if not args.no_full:
        env_full = {**env, "CPGRAPH_DATA_DIR": str(full)}
        out["runs"].append(
            run([*CPGRAPH, "link", "--full", *spec], env_full, "cpgraph link --full")
        )
        out["persons"] = compare_persons(args.work, env, env_full)
        print("persons, incremental against full:", out["persons"], flush=True)
    text = json.dumps(out, indent=2, default=str)
    if args.json:
        args.json.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
