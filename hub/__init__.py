"""The central hub: ingest from every post, the supervisors' API and dashboard."""
