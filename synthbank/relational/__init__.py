"""Linked tables: reading, the HMA-based synthesizer, PII filling, keys, writing."""
