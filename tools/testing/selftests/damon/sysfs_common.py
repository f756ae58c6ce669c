# SPDX-License-Identifier: GPL-2.0
"""Transitional: the helpers of the DAMON selftests are in damon_common.

Only for tests written against this module that were not moved to
damon_common yet; import damon_common instead.  Remove this file once no
test imports it.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from damon_common import *      # noqa: E402,F401,F403
