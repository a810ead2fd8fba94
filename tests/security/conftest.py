"""The end-to-end fixtures (real web, worker and clock processes, and the emulator) for the
security tests that need a whole running system."""

from tests.e2e.conftest import emu, emulator, stack  # noqa: F401  (fixtures, re-exported)
