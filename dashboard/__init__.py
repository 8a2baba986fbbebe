"""Senim's Streamlit UI. It draws; every number comes from ``queries``."""
