"""Pipelines: specs (validation, DAG), datums, jobs, execution.

Import the submodules directly (``jupyter_pipes.pipeline.spec``, ``jupyter_pipes.pipeline.datums``
...); this package module deliberately imports nothing, so loading one part never drags in the
heavy dependencies of another.
"""
