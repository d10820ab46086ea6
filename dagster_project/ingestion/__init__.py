"""Landing files -> DuckDB `raw` schema: reading, contract validation, rejects and the file manifest."""
