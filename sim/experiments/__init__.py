"""Ensembles: what one replication simulates, where replications run, and what is saved.

``replication`` (what is simulated), ``executors`` (where it runs), ``store`` (what is saved as it
runs), ``runner`` (an ensemble end to end), ``output`` and ``folders`` (results folders written
atomically), ``summary`` (statistics over seeds).
"""
