"""HTTP API plumbing: application state, dependencies, error rendering."""
