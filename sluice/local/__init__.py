"""Local mode: `sluice run PIPELINE --local` runs the compiled pipeline on moto with the real functions in-process.

Needs the `local` extra (moto, boto3, rich, Powertools): `pip install -e '.[local]'`.
"""
