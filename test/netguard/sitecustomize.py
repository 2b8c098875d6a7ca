"""Started with every Python process of the test run (``PYTHONPATH``): the loopback-only guard."""

import dope_netguard  # noqa: F401  (installs the audit hook on import)
