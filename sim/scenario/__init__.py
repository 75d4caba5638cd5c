"""The input language: scenario files, their checks, errors, JSON Schema and reference.

A scenario file is one experiment (period, population, parameters, initial policy, events). It is
read through a safe YAML loader, checked key by key, and turned into a typed, frozen
:class:`~sim.scenario.scenario.Scenario`; a bad file never reaches the model.
"""
