"""The category tree (up to 3 levels) and per-category settings."""
