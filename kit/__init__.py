"""The platform's kit: the ports and adapters every service and worker shares.

Importing it first keeps httpx's command-line client out of every process: httpx imports it whenever
`rich`, `click` and `pygments` are installed (they are, for the developer tools), a fifth of a CPU-second
at each start for a command no service runs. A module mapped to None is one Python refuses to import,
and httpx then stands a stub in for its `main`.
"""

import sys

sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
