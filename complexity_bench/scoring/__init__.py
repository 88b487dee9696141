"""Scoring: pure functions from stored traces and run events to leaderboards."""
