# The local OpenStack cloud (docs/lab.md): Debian's OpenStack Zed services on loopback, with
# Nova's fake virt driver, Cinder's fake driver and Octavia's no-op drivers. Everything it makes
# (configs, databases, keys, logs, pids) lives under LAB_DIR, outside the repository.
LAB_DIR ?= /var/lib/paasmas-lab
# Debian's interpreter: the services' dist-packages are there, not in the pyenv/venv Python.
LAB_PYTHON := /usr/bin/python3
LABCTL := $(LAB_PYTHON) openstack-lab/labctl.py --lab-dir $(LAB_DIR)
# `openstack --os-cloud paasmas-lab` and the Pulumi provider (`openstack:cloud: paasmas-lab`)
# read this file.
export OS_CLIENT_CONFIG_FILE ?= $(LAB_DIR)/clouds.yaml
export PAASMAS_LAB_DIR := $(LAB_DIR)

.PHONY: lab-up lab-down lab-status lab-reset lab-bench
lab-up: ## local OpenStack cloud: install what is missing, start, prepare project `paasmas`
	$(LABCTL) up

lab-down: ## stop the local cloud's processes (only those lab-up started)
	$(LABCTL) down

lab-status: ## each local-cloud service, its API and its memory
	$(LABCTL) status

lab-reset: ## stop the local cloud and wipe LAB_DIR
	$(LABCTL) reset

lab-bench: venv lab-up ## time the platform's shape (12 servers, volumes, 3 LBs) on the local cloud
	$(PY) openstack-lab/bench_platform_shape.py

test-prereqs: lab-up
