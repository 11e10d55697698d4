"""Command-line tools built on the pure core."""
