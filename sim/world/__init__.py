"""The world the model describes: months, chips, actors, parameters and the rules in force.

The lowest layer: plain data and the vocabulary every other layer uses. It imports nothing else
of ``sim`` (the import contract in ``pyproject.toml`` checks it).
"""
