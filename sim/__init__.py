"""Everyone's an influencer: who closes valuable connections in a social network?

An agent-based referral simulator. Quick start::

    from sim import Config, run
    result = run(Config(seed=7, days=365))
    print(result.summary())
    result.closures.head()

Modules: ``config`` (typed parameters), ``network`` (generators and loaders),
``engine`` (array state and the daily step), ``kernels`` (compiled propagation),
``model`` (Mesa model and agents), ``measures`` (pure metrics of the tables),
``plots`` (figures), ``run`` (run and collect tables).
"""

import sys
import types

from sim.config import Config, ConfigError, from_dict, validate

__all__ = ["Config", "ConfigError", "Result", "from_dict", "run", "validate"]
__version__ = "0.1.0"


class _Package(types.ModuleType):
    """``sim`` itself: ``sim.run`` and ``sim.Result`` load the model on first use.

    ``import sim.config`` (all that checking a config or a sweep needs) then
    costs milliseconds instead of the ~1.5 s of numba, pandas and Mesa, which
    the main process of a sweep never needs. ``sim.run`` stays the function,
    as with an eager ``from sim.run import run``: importing the submodule
    ``sim.run`` assigns it to this attribute, and that assignment is ignored
    (the module is ``sys.modules["sim.run"]``).
    """

    @property
    def run(self) -> types.FunctionType:
        from sim.run import run

        return run

    @run.setter
    def run(self, module: types.ModuleType) -> None:
        pass

    @property
    def Result(self) -> type:  # noqa: N802  (the class's name)
        from sim.run import Result

        return Result


sys.modules[__name__].__class__ = _Package
