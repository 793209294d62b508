"""Ingest: publishers (WHIP, and the synthetic test pattern) feeding rooms."""
