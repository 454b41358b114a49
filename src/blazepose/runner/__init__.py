"""Many files at once: one input's processing, process pools, and Ray clusters.

:func:`blazepose.runner.jobs.process_input` does one photo, video, camera
or stream (one tracker per video); :mod:`blazepose.runner.pool` spreads
inputs over worker processes, :mod:`blazepose.runner.ray_runner` over a Ray
cluster. All three give the same output files.
"""
