"""Dagster-free rules of the orchestration layer (sensors, schedules, checks, alerts, retention)."""
