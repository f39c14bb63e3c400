"""Print the bad-input coverage of holocorr as a Markdown table.

Run ``python tests/hardening/bad_input_table.py``: one row per public
function (or ``holocorr`` command) with the kinds of bad input tried and the
number of cases, from the same TABLE that tests/hardening/test_bad_inputs.py
runs, then the totals.
"""

from __future__ import annotations

import sys
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bad_cases import EXEMPT, KINDS, TABLE  # noqa: E402


def main() -> None:
    kinds: dict[str, set[str]] = defaultdict(set)
    counts: Counter[str] = Counter()
    for c in TABLE:
        kinds[c.func].add(c.kind)
        counts[c.func] += 1
    order = list(KINDS)
    print("| function | kinds tried | cases |")
    print("|---|---|---:|")
    for func in sorted(counts, key=lambda f: (f.startswith("cli "), f)):
        tried = ", ".join(sorted(kinds[func], key=order.index))
        print(f"| `{func.replace('holocorr.', '', 1) if func != 'holocorr' else func}` | {tried} | {counts[func]} |")
    n_ok = sum(c.error is None for c in TABLE)
    n_xfail = sum(c.xfail is not None for c in TABLE)
    n_cli = sum(c.func.startswith("cli ") for c in TABLE)
    print()
    print(
        f"**Totals:** {len(TABLE)} cases over {len(counts)} functions/commands "
        f"({len(counts) - len({c.func for c in TABLE if c.func.startswith('cli ')})} API callables, "
        f"{len({c.func for c in TABLE if c.func.startswith('cli ')})} CLI commands; {n_cli} CLI cases); "
        f"{len({c.kind for c in TABLE})} of {len(KINDS)} kinds; {n_ok} must-work cases (numbers checked), "
        f"{n_xfail} strict xfail (defects in files edited elsewhere); {len(EXEMPT)} public names exempt."
    )
    per_kind = Counter(c.kind for c in TABLE)
    print()
    print("| kind | cases |")
    print("|---|---:|")
    for k in order:
        print(f"| {k} ({KINDS[k]}) | {per_kind[k]} |")


if __name__ == "__main__":
    main()
