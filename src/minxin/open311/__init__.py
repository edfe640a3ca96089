"""Open311 GeoReport v2 and mySociety's servicerequestupdates extension (see docs/integrations.md)."""
