"""crmsim: a customer relationship management simulation lab.

An agent-based Mesa model follows customers through acquisition, the loyalty
ladder, defection and reacquisition under configurable firm strategies, and
reports customer lifetime value (CLV), retention and customer equity.

Typical use::

    from crmsim import CRMModel, load_scenario

    scenario = load_scenario("baseline")  # a shipped name, or the path of a file
    model = CRMModel(scenario, rng=42)
    model.run(months=60)
    model.summary()
"""

from crmsim.config.fields import ScenarioError
from crmsim.config.scenario import Scenario, load_scenario
from crmsim.engine.model import CRMModel

__all__ = ["CRMModel", "Scenario", "ScenarioError", "load_scenario"]
__version__ = "0.1.0"
