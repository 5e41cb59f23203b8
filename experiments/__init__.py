"""Scripts that reproduce the figures and tables in figures/ (see reproduce.py)."""
