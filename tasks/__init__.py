"""Built-in task families: one file per family; each registers itself on import."""
