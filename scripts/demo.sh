#!/usr/bin/env bash
# What Sluice can do today, on the example pipelines: validate, draw, compile, check the ASL, and run them locally.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
out=build/demo
mkdir -p "$out"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "sluice validate pipelines/"
$BIN/sluice validate pipelines/

step "sluice validate on a broken pipeline (every problem, with file:line and a hint)"
$BIN/sluice validate tests/data/demo-broken.yaml || echo "(exit status $?: bad input)"

for file in pipelines/*.yaml; do
  name=$(basename "$file" .yaml)
  step "sluice graph $name"
  $BIN/sluice graph "$name"
  step "sluice compile $name -> $out/$name.asl.json"
  $BIN/sluice compile "$name" -o "$out/$name.asl.json"
  npx --no-install asl-validator --json-path "$out/$name.asl.json"
done

step "sluice simulate: the non-series-parallel DAG still runs every task as early as its own dependencies allow"
$BIN/sluice simulate marketing-attribution -d ingest_spend=300 -d attribution=600

step "sluice simulate: a job that fails once is retried and the run recovers"
$BIN/sluice simulate daily-sales-etl --fail aggregate_sales:1

step "sluice simulate: a job that keeps failing fails the run cleanly; the one_failed notifier runs"
$BIN/sluice simulate daily-sales-etl --fail load_warehouse || echo "(exit status $?: the run failed, as scripted)"

step "sluice run --local: the compiled pipelines on moto, with the real functions in-process (no AWS account)"
$BIN/sluice run marketing-attribution --local --date 2026-11-27
$BIN/sluice run ml-training --local

step "sluice run --local: a job fails once, its retry recovers the run (HTML report: $out/daily-sales-etl.html)"
$BIN/sluice run daily-sales-etl --local --fail aggregate_sales:1 --report "$out/daily-sales-etl.html"

step "sluice run --local: a job keeps failing; the run fails cleanly and the one_failed notifier runs"
$BIN/sluice run daily-sales-etl --local --scenario scenarios/warehouse-down.yaml || echo "(exit status $?: the run failed, as scripted)"

step "cdk synth: the same definitions as CloudFormation stacks, offline (cdk-nag AwsSolutions inside, then cfn-lint)"
npx --no-install cdk synth -q --output "$out/cdk.out"
$BIN/cfn-lint "$out"/cdk.out/*.template.json && echo "cfn-lint: no errors in $(ls "$out"/cdk.out/*.template.json | wc -l) templates"
npx --no-install cdk ls --output "$out/cdk.out"
