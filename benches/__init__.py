"""nbgrad benchmark suite (see benches/run.py)."""
