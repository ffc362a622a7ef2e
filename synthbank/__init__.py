"""synthbank: privacy-safe synthetic copies of financial databases."""

__version__ = "0.1.0"
