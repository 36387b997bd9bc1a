"""Everything that runs at synth time (CDK). Depends on sluice, never on functions/."""
