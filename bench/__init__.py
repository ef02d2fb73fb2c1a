"""CooVox benchmark suite: ``python -m bench`` (or ``bash bench/run.sh``) reproduces every figure.

Modules: ``stats`` (percentiles, medians over runs), ``results`` (JSON files in
``bench/results/`` and the table in ``BENCHMARKS.md``), ``loadgen`` (paced call attempts,
latency matching on the ARI double's clock), ``appproc`` (the product or the baseline app
in a subprocess, with an event-loop-lag monitor; ``appmain`` is its entry point),
``baseline`` (the minimal Stasis app), ``seed`` (the configuration calls run with), ``rig``
(double + measured process), ``admission`` (points 1, 2, 6), ``capacity`` (points 3, 4),
``datagen`` + ``reports_bench`` (point 5), ``sqlite_commit`` (cost of one commit),
``real_asterisk`` (billed calls through a real Asterisk, issue 12 point 4), ``runner`` (the
command line).
"""
