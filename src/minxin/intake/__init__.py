"""Intake: turning a citizen appeal into a registered, classified, routed work order."""
