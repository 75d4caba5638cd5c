"""Analyses built on ensembles: comparisons, sensitivity, validation and calibration."""
