"""The input language: scenario files, their checks, errors, JSON Schema and reference.

A scenario file is one experiment (period, population, parameters, initial policy, events). It is
read through a safe YAML loader, checked key by key, and turned into a typed, frozen
:class:`~sim.scenario.scenario.Scenario`; a bad file never reaches the model.

* :mod:`~sim.scenario.scenario` - the Scenario, and loading it (the public entry points);
* :mod:`~sim.scenario.document` - a file merged over the files it ``extends``;
* :mod:`~sim.scenario.sections` - the checks of the period, population and parameters;
* :mod:`~sim.scenario.events` - the dated policy events and the moves they name;
* :mod:`~sim.scenario.levers` - the event fields an exploratory study varies;
* :mod:`~sim.scenario.wording`, :mod:`~sim.scenario.errors` - problems in the author's words;
* :mod:`~sim.scenario.yamlsafe` - the safe YAML reader;
* :mod:`~sim.scenario.library` - where scenario files are found;
* :mod:`~sim.scenario.schema`, :mod:`~sim.scenario.reference` - the generated JSON Schema and
  Markdown reference.
"""
