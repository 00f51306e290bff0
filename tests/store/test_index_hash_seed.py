"""The lookup index numbers its terms the same way in every process.

Term ids decide the order typo and partial-code candidates are tried in (`Vocabulary.by_shape`
lists terms by id, and at most MAX_TYPO_EXPANSIONS are taken), so ids that followed the hash
seed's set order could rank the same query differently in `fixedit lookup` and in `fixedit
serve`. Each build runs in its own interpreter with its own PYTHONHASHSEED.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_BUILD = """
import json
from store import index as ix

docs = [
    ix.DocInput(1, "Outlook keeps prompting for password", "credential prompt loop after move",
                ["outlook asks for password", "event 0x80070005"], "stale credentials",
                ["cleared credential manager", "rebuilt ost"], ["Microsoft Outlook"],
                ["0x80070005", "KB5034441"], "Acme", "email", "psa", "resolved", True, 1, False),
    ix.DocInput(2, "Printer offline at front desk", "print queue stuck", ["jobs stuck"],
                "spooler crashed", ["restarted spooler", "cleared queue", "printed test page"],
                ["HP LaserJet"], ["0x00000709"], "Acme", "printing", "psa", "resolved", True, 2,
                False),
    ix.DocInput(3, "VPN drops every hour", "tunnel resets", ["vpn disconnects", "ike rekey"],
                "mismatched lifetimes", ["matched phase 2 lifetime", "tested overnight"],
                ["FortiGate", "FortiClient"], ["ERR_TUNNEL_RESET"], None, "network", "psa",
                "resolved", True, 3, False),
]
analyzer = ix.Analyzer()
ix.build(analyzer, docs)
vocab = analyzer.vocab
print(json.dumps({"terms": vocab.terms,
                  "typos": [vocab.typo_candidates(w) for w in ("pronter", "spoler", "outlok")]}))
"""


def _build(seed: str) -> dict[str, object]:
    env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", _BUILD], cwd=ROOT, env=env, check=True,  # noqa: S603
                          capture_output=True, text=True, timeout=120)
    return json.loads(done.stdout)


def test_term_ids_and_typo_candidates_do_not_follow_the_hash_seed() -> None:
    first, second = _build("1"), _build("2")
    assert first["terms"], "the index numbered no terms"
    assert first == second
