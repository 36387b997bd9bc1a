"""The core (spec, graph, compile, contract, simulation) imports no AWS SDK, CDK or moto."""

from __future__ import annotations

import subprocess
import sys

CORE = ["sluice.spec", "sluice.graph", "sluice.compile", "sluice.contract", "sluice.template", "sluice.condition",
        "sluice.ledger", "sluice.simulate", "sluice.asl_eval", "sluice.cost", "sluice.schedule_times"]


def test_core_modules_import_no_aws_libraries():
    code = (f"import sys; import {', '.join(CORE)}; "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in {'boto3', 'botocore', 'aws_cdk', 'moto', "
            "'jsii'}); print(','.join(bad))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""
