"""Built-in measures: one file per measure; each registers itself on import.

``get(name)`` returns a registered measure (built-in, entry point or plugin);
``complexity_bench.compute(name, model, probe=...)`` computes it on one model.
"""


def get(name: str):
    """The registered measure called ``name`` (a UserError with suggestions if there is none)."""
    from complexity_bench.contracts.measure import MEASURES

    return MEASURES.get(name)


def names() -> list[str]:
    """Every registered measure name, sorted."""
    from complexity_bench.contracts.measure import MEASURES

    return MEASURES.names()
