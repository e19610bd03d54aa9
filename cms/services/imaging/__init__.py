"""Images: reading headers without decoding, and decoding only in a memory-limited child.

`probe` reads size, frames and bands from the headers (for the budget, in the web process);
`worker.run` re-encodes an upload or makes a rendition in a child process (see worker.py);
`encode` holds what the child runs. Stdlib and Pillow only: the child imports this package
without the app.
"""

from .encode import crop_box
from .probe import Probe, ProbeError, probe
from .worker import WorkerError, probe_params, run

__all__ = ["Probe", "ProbeError", "WorkerError", "crop_box", "probe", "probe_params", "run"]
