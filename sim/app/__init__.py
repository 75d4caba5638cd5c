"""The classroom dashboard (``chipsim app``): Mesa's SolaraViz with policy levers."""
