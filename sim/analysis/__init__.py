"""Analyses built on ensembles: comparisons, sensitivity, exploration, validation, calibration.

* :mod:`~sim.analysis.compare` - scenarios run on the same seeds, side by side;
* :mod:`~sim.analysis.attribution` - which of a scenario's moves cost what (Shapley values,
  estimated in :mod:`~sim.analysis.shapley`);
* :mod:`~sim.analysis.sensitivity` - which uncertain parameters drive an output
  (Sobol indices and Morris screening by SALib, in :mod:`~sim.analysis.salib`);
* :mod:`~sim.analysis.ema` - a scenario file as an EMA Workbench model;
  :mod:`~sim.analysis.explore` - many experiments over its uncertainties and levers;
  :mod:`~sim.analysis.discover` - PRIM boxes: when is an outcome high? (the point of the
  scenario they share in :mod:`~sim.analysis.uncertain`);
* :mod:`~sim.analysis.validation` - the patterns of the record, checked on the defaults;
* :mod:`~sim.analysis.calibration` - re-fitting the calibrated parameters;
* :mod:`~sim.analysis.chip_flows` - who shipped what to whom, measured from model runs.
"""
