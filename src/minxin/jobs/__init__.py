"""Background jobs: declared beside their domain, run by one runner (in `serve` or `worker`)."""
