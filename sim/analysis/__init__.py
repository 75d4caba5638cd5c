"""Analyses built on ensembles: comparisons, sensitivity, validation, calibration, chip flows.

* :mod:`~sim.analysis.compare` - scenarios run on the same seeds, side by side;
* :mod:`~sim.analysis.sensitivity` - which uncertain parameters drive an output
  (the Sobol estimators in :mod:`~sim.analysis.sobol`);
* :mod:`~sim.analysis.validation` - the patterns of the record, checked on the defaults;
* :mod:`~sim.analysis.calibration` - re-fitting the calibrated parameters;
* :mod:`~sim.analysis.chip_flows` - who shipped what to whom, measured from model runs.
"""
