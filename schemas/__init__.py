"""The shared language of edge and hub: records, events, canonical JSON and hashes, topic names."""
