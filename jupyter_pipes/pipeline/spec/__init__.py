"""Pipeline specs: reading and validating a Pachyderm-compatible subset.

A spec is YAML or JSON (or a dict), read as Pachyderm's ``create pipeline -f`` reads it: both
spellings of every field (``join_on`` and ``joinOn``), several specs per file, Kubernetes-only
fields accepted and ignored, unsupported features refused by name. Every model forbids unknown
fields and is strict about types (``1`` is not a string; as in protojson, a 64-bit integer may
be quoted). Every problem raises :class:`~jupyter_pipes.errors.InvalidArgument` whose message
starts with the field's path, e.g. ``input.cross[1].pfs.glob: invalid glob pattern ...``, and
whose ``fields["field"]`` is that path.

Modules: :mod:`.reader` (text to specs, errors), :mod:`.compat` (Pachyderm's spellings,
ignored and unsupported fields), :mod:`.inputs` and :mod:`.models` (the models),
:mod:`.units` (durations, quantities, limits), :mod:`.dag` (checks between pipelines).

The package imports its modules on first use of a name (PEP 562): ``from .spec import
parse_duration`` loads only :mod:`.units`, and nothing here loads pydantic or PyYAML until a
model or the reader is needed, so command-line start-up does not pay for them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .compat import IgnoredField
    from .dag import check_dag
    from .inputs import INPUT_KINDS, CronInput, Input, PfsInput, Trigger, iter_pfs
    from .models import (
        GpuSpec,
        ParallelismSpec,
        Pipeline,
        PipelineSpec,
        ResourceSpec,
        ServeSpec,
        Transform,
    )
    from .reader import (
        LoadedSpec,
        ignored_note,
        load_spec,
        load_specs,
        parse_input,
        parse_spec,
        parse_specs,
        spec_to_dict,
        stamp_cron_start,
    )
    from .units import LIMITS, parse_cpu, parse_duration, parse_quantity

_WHERE = {
    "compat": ["IgnoredField"],
    "dag": ["check_dag"],
    "inputs": ["INPUT_KINDS", "CronInput", "Input", "PfsInput", "Trigger", "iter_pfs"],
    "models": ["GpuSpec", "ParallelismSpec", "Pipeline", "PipelineSpec", "ResourceSpec",
               "ServeSpec", "Transform"],
    "reader": ["LoadedSpec", "ignored_note", "load_spec", "load_specs", "parse_input", "parse_spec",
               "parse_specs", "spec_to_dict", "stamp_cron_start"],
    "units": ["LIMITS", "parse_cpu", "parse_duration", "parse_quantity"],
}  # fmt: skip
_MODULE = {name: module for module, names in _WHERE.items() for name in names}


def __getattr__(name: str) -> Any:
    module = _MODULE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # the next look-up is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_MODULE})


__all__ = [
    "INPUT_KINDS", "LIMITS", "CronInput", "GpuSpec", "IgnoredField", "Input", "LoadedSpec",
    "ParallelismSpec", "PfsInput", "Pipeline", "PipelineSpec", "ResourceSpec", "ServeSpec",
    "Transform", "Trigger", "check_dag", "ignored_note", "iter_pfs", "load_spec", "load_specs",
    "parse_cpu", "parse_duration", "parse_input", "parse_quantity", "parse_spec", "parse_specs",
    "spec_to_dict", "stamp_cron_start",
]  # fmt: skip
