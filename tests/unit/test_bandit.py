"""bandit finds nothing in the code that ships or deploys (sluice/, functions/, infra/); what it would flag is
fixed, or justified: centrally in pyproject's [tool.bandit] skips, or where it is by `# nosec BXXX  # why`."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("sluice", "functions", "infra")
# A rule id or more, then the reason in a comment of its own (bandit reads every word after `nosec` as a rule name).
NOSEC = re.compile(r"#\s*nosec\b(?P<rest>.*)$")
JUSTIFIED = re.compile(r"^ (?:B\d{3})(?:, B\d{3})*  # \S.{9,}$")


def _bandit() -> dict:
    done = subprocess.run([sys.executable, "-m", "bandit", "-c", "pyproject.toml", "-r", *SCANNED, "-f", "json", "-q"],
                          cwd=ROOT, capture_output=True, text=True)
    assert done.stdout, done.stderr  # bandit is a dev dependency: `pip install -e '.[dev]'` brings it
    return json.loads(done.stdout)


def test_bandit_finds_nothing_in_sluice_functions_and_infra():
    report = _bandit()
    assert report["errors"] == []
    findings = [f"{r['test_id']} {r['filename']}:{r['line_number']} {r['issue_text']}" for r in report["results"]]
    assert findings == [], "fix each, or justify it with `# nosec BXXX  # why` on its line:\n" + "\n".join(findings)
    assert report["metrics"]["_totals"]["loc"] > 1_000  # it did read the code


def test_every_nosec_names_its_rule_and_says_why():
    unexplained = [f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
                   for folder in SCANNED for path in sorted((ROOT / folder).rglob("*.py"))
                   for n, line in enumerate(path.read_text().splitlines(), 1)
                   if (m := NOSEC.search(line)) and not JUSTIFIED.match(m["rest"])]
    assert unexplained == []
