"""CooVox benchmark suite: ``python -m bench`` (or ``bash bench/run.sh``) reproduces every figure.

Modules: ``stats`` (percentiles, medians over runs), ``results`` (JSON files in
``bench/results/`` and the table in ``BENCHMARKS.md``), ``loadgen`` (paced call attempts,
latency matching on the ARI double's clock), ``appproc`` (the product or the baseline app
in a subprocess, with an event-loop-lag monitor), ``baseline`` (the minimal Stasis app),
``calls_bench`` (points 1-4 of issue 7), ``datagen`` + ``reports_bench`` (point 5),
``runner`` (the command line).
"""
