"""The classroom dashboard (``chipsim app``): Mesa's SolaraViz with policy levers.

:mod:`~sim.app.levers` holds the levers and the model the page steps, :mod:`~sim.app.figures`
its live figures, and :mod:`~sim.app.dashboard` the Solara page (``sim.app.dashboard:Page``)
and :func:`~sim.app.dashboard.serve`.
"""
