"""The work order (工单): a citizen appeal and everything that happens to it."""
