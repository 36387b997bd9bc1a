"""EventBridge events Sluice consumes, as typed models, and their reduction to what the runtime needs."""
