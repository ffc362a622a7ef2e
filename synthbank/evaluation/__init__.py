"""Scores and the report: integrity, fidelity, text similarity, privacy, utility."""
