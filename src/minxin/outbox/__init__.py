"""The transactional outbox: side effects recorded with the change, delivered after commit."""
