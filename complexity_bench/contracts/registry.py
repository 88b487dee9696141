"""One generic registry for measures and tasks.

Names are unique: registering a second object under a taken name is refused,
and the error names both definitions. One exception keeps notebooks usable: an
object defined by the same code (same ``__module__`` and ``__qualname__``, e.g. a
re-run cell in ``__main__``) replaces the old one, with a warning. Looking up an unknown name fails with a
"did you mean" suggestion. Built-ins are discovered by importing every module
of ``complexity_bench.measures`` / ``complexity_bench.tasks``; third-party
packages through the entry-point groups of the same names; single files
through :func:`load_plugin_file`.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib
import importlib.util
import inspect
import pkgutil
import sys
import warnings
from contextlib import contextmanager
from importlib.metadata import entry_points
from pathlib import Path
from typing import Callable, Generic, Iterator, TypeVar

from complexity_bench.errors import UserError

T = TypeVar("T")

# Module names of ``--plugin`` files (the file path's hash follows), so a fresh
# process can tell which measures come from a file and load it again.
PLUGIN_MODULE_PREFIX = "complexity_bench_plugin_"


def _origin(obj: object) -> str:
    """Where an object was defined, for error messages: ``file:line``."""
    target = obj if inspect.isclass(obj) or inspect.isfunction(obj) else type(obj)
    fn = getattr(obj, "_cb_origin", None)
    if fn:
        return fn
    try:
        return f"{inspect.getsourcefile(target)}:{inspect.getsourcelines(target)[1]}"
    except (TypeError, OSError):
        return getattr(target, "__module__", "?")


def _definition(obj: object) -> tuple[str, str] | None:
    """(module, qualname) of the code that defined ``obj``: its function, else its class."""
    target = getattr(obj, "fn", None)
    if not callable(target):
        target = obj if inspect.isclass(obj) else type(obj)
    module, qualname = getattr(target, "__module__", None), getattr(target, "__qualname__", None)
    return (module, qualname) if module and qualname else None


class Registry(Generic[T]):
    """Name -> object, with duplicate refusal and did-you-mean lookups."""

    def __init__(
        self,
        kind: str,
        package: str,
        entry_point_group: str,
        adopt: Callable[[object], None] | None = None,
    ):
        self.kind = kind
        self.package = package
        self.entry_point_group = entry_point_group
        # Called with whatever an entry point loads: a module registers itself on
        # import, but an entry point may also name an undecorated class or object.
        self._adopt = adopt
        self._items: dict[str, T] = {}
        self._discovered = False

    def add(self, name: str, obj: T) -> T:
        old = self._items.get(name)
        if old is not None and old is not obj and _definition(old) is not None \
                and _definition(old) == _definition(obj):
            warnings.warn(f"{self.kind} {name!r} redefined by the same code ({'.'.join(_definition(obj))}, "
                          f"{_origin(obj)}): replacing the earlier definition", stacklevel=3)
        elif old is not None and old is not obj:
            raise UserError(
                f"duplicate {self.kind} name {name!r}: defined at {_origin(self._items[name])} "
                f"and again at {_origin(obj)}; rename one of them"
            )
        self._items[name] = obj
        return obj

    def discover(self) -> None:
        """Import built-ins and entry points once; plugins register on import."""
        if self._discovered:
            return
        self._discovered = True
        pkg = importlib.import_module(self.package)
        for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
            if not info.name.startswith("_"):
                importlib.import_module(f"{self.package}.{info.name}")
        for ep in entry_points(group=self.entry_point_group):
            try:
                loaded = ep.load()
            except Exception as exc:  # a broken third-party plugin must not hide the rest
                raise UserError(
                    f"entry point {ep.name!r} in group {self.entry_point_group} failed to load: "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
            if self._adopt is not None and not inspect.ismodule(loaded):
                self._adopt(loaded)

    def get(self, name: str) -> T:
        self.discover()
        if name not in self._items:
            close = difflib.get_close_matches(name, self._items, n=3, cutoff=0.5)
            hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            raise UserError(
                f"unknown {self.kind} {name!r}{hint} (`python -m complexity_bench list {self.kind}s` shows all)"
            )
        return self._items[name]

    def names(self) -> list[str]:
        self.discover()
        return sorted(self._items)

    def __contains__(self, name: str) -> bool:
        self.discover()
        return name in self._items

    def __iter__(self) -> Iterator[T]:
        return iter(self._items[n] for n in self.names())

    def select(self, spec: str, keep: Callable[[T], bool] = lambda _: True) -> list[T]:
        """``"all"`` (filtered by ``keep``) or a comma-separated list of names."""
        if spec.strip() == "all":
            return [item for item in self if keep(item)]
        names = [s.strip() for s in spec.split(",") if s.strip()]
        if not names:
            raise UserError(f"no {self.kind} names given (use 'all' or a comma-separated list)")
        return [self.get(n) for n in dict.fromkeys(names)]

    def snapshot(self) -> set[str]:
        return set(self._items)

    @contextmanager
    def scope(self) -> Iterator["Registry[T]"]:
        """Registrations made inside the block are undone when it ends (tests, notebooks).

        Built-ins are discovered first, so they stay registered afterwards.
        """
        self.discover()
        saved = dict(self._items)
        try:
            yield self
        finally:
            self._items.clear()
            self._items.update(saved)


def is_safe_name(text: object, extra: str = "") -> bool:
    """Non-empty letters, digits, '-', '_' (and the characters in ``extra``): safe in a file name."""
    return isinstance(text, str) and bool(text) and all(c.isalnum() or c in "-_" + extra for c in text)


def name_problems(name: object, version: object) -> list[str]:
    """What is wrong with a registered object's name and version (they end up in run ids and file names)."""
    problems = []
    if not is_safe_name(name):
        problems.append(f"name {name!r} must be non-empty letters, digits, '-' or '_'")
    if not is_safe_name(version, extra=".") or ".." in version:
        problems.append(f"version {version!r} must be a non-empty string of letters, digits, '.', '-' or '_', "
                        "without '..'")
    return problems


def check_path_name(kind: str, name: object) -> str:
    """``name`` if registration would accept it (letters, digits, '-', '_', '.', no '..'),
    so a name that reaches a file name keeps the store's writes inside its folder;
    else a UserError naming ``kind``."""
    if not is_safe_name(name, extra=".") or ".." in name:
        raise UserError(f"{kind} {name!r} cannot be used in a file name: use letters, digits, '.', '-' or '_', "
                        "without '..'")
    return name


def load_plugin_file(path: str | Path, registries: list[Registry]) -> list[str]:
    """Import a single ``.py`` file; return the names it registered.

    A file that fails to import, or registers nothing, is a user error.
    """
    p = Path(path)
    if not p.is_file():
        raise UserError(f"plugin file {str(path)!r} does not exist")
    for reg in registries:
        reg.discover()  # so the file's names are checked against built-ins
    before = {id(r): r.snapshot() for r in registries}
    mod_name = PLUGIN_MODULE_PREFIX + hashlib.sha256(str(p.resolve()).encode()).hexdigest()[:12]
    loaded = getattr(sys.modules.get(mod_name), "__cb_registered__", None)
    if loaded is not None and all(any(n in r.snapshot() for r in registries) for n in loaded):
        return loaded  # imported before, and its names are still registered
    # never imported, or its registrations were undone (Registry.scope): import it (again)
    spec = importlib.util.spec_from_file_location(mod_name, p)
    if spec is None or spec.loader is None:
        raise UserError(f"plugin file {str(path)!r} is not an importable Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[mod_name] = module
    try:
        spec.loader.exec_module(module)
    except UserError:
        del sys.modules[mod_name]
        raise
    except Exception as exc:
        del sys.modules[mod_name]
        raise UserError(f"plugin file {str(path)!r} failed to import: {type(exc).__name__}: {exc}") from exc
    added = sorted(set().union(*(r.snapshot() - before[id(r)] for r in registries)))
    if not added:
        del sys.modules[mod_name]
        raise UserError(
            f"plugin file {str(path)!r} defines no measure or task "
            "(decorate a Measure subclass with @register_measure, or a function with @measure(...))"
        )
    module.__cb_registered__ = added
    return added
