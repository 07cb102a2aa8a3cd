"""The CareAlign evaluation engine: plain Python, never imports Django."""
