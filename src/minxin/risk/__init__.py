"""Risk early warning: taxonomy, tagging, detectors, alerts that close the loop."""
