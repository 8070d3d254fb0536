"""Trained models over time: the registry in the warehouse and walk-forward training on Ray."""
