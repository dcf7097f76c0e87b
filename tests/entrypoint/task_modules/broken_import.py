"""A module whose import fails in user code."""

import module_that_does_not_exist_anywhere  # noqa: F401
