"""Controller of the PaaSmas local OpenStack cloud (`make lab-up`, `lab-down`, ...).

Runs with Debian's /usr/bin/python3, whose dist-packages hold the OpenStack services it drives.
"""
