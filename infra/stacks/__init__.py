"""The platform stack (shared) and the pipeline stacks (sharded, infra/sharding.py)."""
