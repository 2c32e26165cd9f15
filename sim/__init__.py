"""Everyone's an influencer: who closes valuable connections in a social network?

An agent-based referral simulator. Quick start::

    from sim import Config, run
    result = run(Config(seed=7, days=365))
    print(result.summary())
    result.closures.head()

Modules: ``config`` (typed parameters), ``network`` (generators and loaders),
``state`` (the typed structures the kernels take), ``engine`` (array state and
the daily step), ``kernels`` (compiled phases of the day), ``records`` (what a
day produced: :class:`DayStats`, :class:`ClosureTable`), ``model`` (Mesa model
and agents), ``measures`` (pure metrics of the tables), ``run`` (run and collect
tables), ``io`` (atomic output). None of them draws: figures live in the
package ``sim.viz``, which imports the core and is never imported by it.
"""

import importlib
import sys
import types

from sim.config import Config, ConfigError, from_dict, validate

__all__ = ["ClosureTable", "Config", "ConfigError", "DayStats", "Result", "from_dict", "run",
           "validate"]
__version__ = "0.1.0"


#: Values assigned to the lazy attributes (e.g. by ``monkeypatch``), by name.
_assigned: dict[str, object] = {}


def _lazy(name: str, module: str = "sim.run") -> property:
    """A package attribute loaded from ``module`` on first use, that may be reassigned."""

    def get(self: types.ModuleType) -> object:
        if name in _assigned:
            return _assigned[name]
        return getattr(importlib.import_module(module), name)

    def set_(self: types.ModuleType, value: object) -> None:
        # Importing the submodule sim.run assigns the module itself here: keep the function.
        if not (name == "run" and isinstance(value, types.ModuleType)):
            _assigned[name] = value

    def delete(self: types.ModuleType) -> None:
        _assigned.pop(name, None)

    return property(get, set_, delete, f"``{module}.{name}``, loaded on first use.")


class _Package(types.ModuleType):
    """``sim`` itself: ``sim.run``, ``sim.Result`` (and the records) load on first use.

    ``import sim.config`` (all that checking a config or a sweep needs) then
    costs milliseconds instead of the ~1.5 s of numba, pandas and Mesa, which
    the main process of a sweep never needs. ``sim.run`` stays the function,
    as with an eager ``from sim.run import run``: importing the submodule
    ``sim.run`` assigns it to this attribute, and that assignment is ignored
    (the module is ``sys.modules["sim.run"]``); other assignments (a test's
    ``monkeypatch``) take effect.
    """

    run = _lazy("run")
    Result = _lazy("Result")
    DayStats = _lazy("DayStats", "sim.records")
    ClosureTable = _lazy("ClosureTable", "sim.records")

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | {"run", "Result", "DayStats", "ClosureTable"})


sys.modules[__name__].__class__ = _Package
