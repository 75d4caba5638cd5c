"""Figures: one style kit, and the run, story and comparison figures drawn with it.

Figures are pure functions of result tables (pandas DataFrames) drawn with matplotlib's object
API; nothing here runs the model.
"""
