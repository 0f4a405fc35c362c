"""Benchmarks: schemabus side by side with the raw clients, in the same run (`make bench`)."""
