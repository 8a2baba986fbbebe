"""Senim back end: database, ingestion, survey statistics and metrics.

Everything here is importable and testable without Streamlit; the UI lives in
``dashboard/`` and calls these functions for every number it shows.
"""
