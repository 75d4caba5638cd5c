"""Figures: one style kit, and the run, story and comparison figures drawn with it.

Figures are pure functions of result tables (pandas DataFrames) drawn with matplotlib's object
API; nothing here runs the model or knows how runs are made.

* :mod:`~sim.viz.style` - the look: palette, fonts, panel style, title block, source line, saving;
* :mod:`~sim.viz.events` - the event strip: policy moves marked and labelled at their dates;
* :mod:`~sim.viz.layout` - the layout of a figure over time: strip, panels, legend;
* :mod:`~sim.viz.bands` - the median and 5-95 % band of a metric over seeds;
* :mod:`~sim.viz.run_figures` - the standard figures of every run;
* :mod:`~sim.viz.story` - where the chips went, and how China's market answered;
* :mod:`~sim.viz.comparison` - scenarios side by side, and sensitivity bars;
* :mod:`~sim.viz.attribution` - the waterfall of an attribution: which moves moved a metric.
"""
