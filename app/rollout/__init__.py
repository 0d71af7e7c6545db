"""Rollout plans, milestones, exemptions and completion figures over the department tree."""
