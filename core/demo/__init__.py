"""Demo data and play: realistic generated cases (1M in about two minutes) and the simulator
that plays a case through every status."""
