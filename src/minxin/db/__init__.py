"""SQLAlchemy plumbing only: base classes, column types, engines and the unit of work."""
