"""Pipeline, job and datum tables: the pipeline layer's only SQL.

They live in the store's metadata database (same engine, same transactions) so that a branch
move and the jobs it triggers commit together, and an output commit and its job's success
commit together. The store itself never reads these tables. They are made and changed only by the
migrations in ``pipeline/migrations`` (their own chain; see docs/migrations.md); the definitions
here must equal what those build (a test compares them).

Datums are versioned by intervals, so a job writes rows only for the datums that ran or went:
a datum row carries ``live_from``, the *success sequence number* of the job that produced it
(every successful job of a pipeline gets the next number), and ``live_to``, the number of the
successful job that replaced or removed it (``NULL`` while it is current). The datums of
successful job ``s`` are the rows with ``live_from <= s < live_to``; rows of a job that did not
succeed have no ``live_from`` and never count for reuse. A failed job's listing is its own rows
plus the datums current at its base (``base_seq``), less those its own rows (``removed``
tombstones included) replace. (Jobs from before schema revision 0003 wrote a row for every
datum, skipped ones with ``reused_from``; the migration gave each successful one an interval of
its own, so they list as they did.)

``jobs.blocked_on`` names the upstream job that made a job ``unrunnable``; the jobs a job still
waits for are rows of ``job_waits``.
"""

from .datum_rows import *  # noqa: F403
from .job_rows import *  # noqa: F403
from .rows import *  # noqa: F403
from .tables import *  # noqa: F403
