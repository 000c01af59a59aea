#!/usr/bin/python3
"""Life cycle of the PaaSmas local OpenStack cloud: up, down, status, reset (see docs/lab.md)."""

import sys

from cloudlab.cli import main

if __name__ == "__main__":
    sys.exit(main())
