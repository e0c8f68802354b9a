#!/usr/bin/env python3
"""Run one integration case file; see itest/runner.py and README.md."""

import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from itest import runner  # noqa: E402

if __name__ == "__main__":
    sys.exit(runner.main())
