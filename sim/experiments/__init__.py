"""Ensembles: what one replication simulates, where replications run, and what is saved.

``replication`` (what is simulated), ``executors`` (where it runs, surviving dead workers),
``store`` (what is saved as it runs), ``runner`` (an ensemble end to end, and the ``run`` and
``rerun`` commands), ``interrupts`` (SIGTERM and SIGHUP handled like Ctrl-C), ``manifest`` (what
a run records, and rebuilding a run from it), ``tables`` (the timeseries block by block, as CSV
or Parquet), ``output`` and ``folders`` (results folders written atomically), ``summary``
(statistics over seeds), ``pairing`` (how much the paired loss gains over an unpaired one).
"""
