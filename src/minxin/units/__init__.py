"""Organisational units: the tree a work order travels through (centre → departments → counties → stations)."""
