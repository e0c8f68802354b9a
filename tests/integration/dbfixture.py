#!/usr/bin/env python3
"""Start or stop the private MariaDB shared by one integration test run.

    dbfixture.py start DIR    initialise DIR/data, start mariadbd, write DIR/db.json
    dbfixture.py stop DIR     shut it down
"""

import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from itest import db  # noqa: E402


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("start", "stop"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    action, base = sys.argv[1], sys.argv[2]
    try:
        if action == "start":
            info = db.start(base).info
            print(f"mariadbd pid {info['pid']} on 127.0.0.1:{info['port']} "
                  f"and {info['socket']}")
        else:
            db.stop(base)
            print("mariadbd stopped")
    except db.DbError as e:
        print(f"dbfixture {action}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
