"""Built-in measures: one file per measure; each registers itself on import."""
