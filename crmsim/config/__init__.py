"""Configuration: the field table, scenarios (typed and validated) and their reference.

- ``fields``: kinds of value and their checks;
- ``schema``: every setting of a scenario, with its default and unit;
- ``reading``: reading settings files (YAML) within limits, every failure a clear message;
- ``scenario``: reading, validating and changing scenarios;
- ``docs``: the generated reference in ``crmsim/scenarios/README.md``.

Import from the modules themselves (``from crmsim.config.scenario import
load_scenario``); this package imports nothing, so the field table stays
below the strategies that use it.
"""
