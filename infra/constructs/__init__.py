"""One construct per concern: RunStore, Runtime, PipelineStateMachine, Schedules, Triggers, JobEvents, Monitoring."""
