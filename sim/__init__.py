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

from sim.config import Config, ConfigError, from_dict, validate
from sim.run import Result, run

__all__ = ["Config", "ConfigError", "Result", "from_dict", "run", "validate"]
__version__ = "0.1.0"
