# Host checks after provisioning and the host lab that proves them (docs/hostchecks.md).
#   make check STACK=<stack>        checks a real stack (reads `pulumi stack output`)
#   make check OUTPUTS=<file>       checks the hosts named in an outputs file
#   make hosts-up / check-hostlab / hosts-down
HOSTLAB_DIR ?= /var/lib/paasmas-hostlab
HOSTLAB := PAASMAS_HOSTLAB_DIR=$(HOSTLAB_DIR) $(PY) -m hostlab.lab
HOSTLAB_PACKAGES := openssh-server openssh-client etcd-server etcd-client mariadb-server \
	mariadb-client galera-4 rsync stunnel4 haproxy socat curl sudo openssl iproute2 iputils-arping
SSH_IDENTITY ?= $(HOME)/.ssh/id_ed25519
KNOWN_HOSTS ?= $(HOME)/.ssh/known_hosts
# Parallel across hosts: one xdist group per host.
CHECK_ARGS ?= -n 4 --dist loadgroup
# What the host lab cannot run (docs/hostchecks.md "What the lab does not prove").
HOSTLAB_DESELECT := -m "not k3s and not jenkins"

.PHONY: hosts-packages hosts-up hosts-down hosts-status check check-hostlab bench-hostchecks

hosts-packages: ## Debian packages the host lab runs (installed only when missing)
	@missing=$$(for p in $(HOSTLAB_PACKAGES); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; \
	done); \
	if [ -n "$$missing" ]; then \
		echo "hosts-packages: installing" $$missing; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing \
		|| { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; }; \
	fi

hosts-up: venv hosts-packages ## host lab: namespaces with sshd, etcd, Galera, HAProxy (~1 min)
	$(HOSTLAB) up

hosts-down: ## stop the host lab (only its namespaces' processes) and remove its links
	$(HOSTLAB) down

hosts-status: ## every host lab service, and whether the lab is healthy
	$(HOSTLAB) status

check: venv ## host checks of a stack: make check STACK=<stack> | OUTPUTS=<file>
	@test -n "$(STACK)$(OUTPUTS)" || { echo "usage: make check STACK=<stack> | OUTPUTS=<file>" >&2; exit 2; }
	$(PY) -m pytest checks $(if $(STACK),--stack $(STACK),--outputs $(OUTPUTS)) \
		--ssh-identity $(SSH_IDENTITY) --known-hosts $(KNOWN_HOSTS) $(CHECK_ARGS)

check-hostlab: hosts-up ## the host checks against the host lab
	$(PY) -m pytest checks --outputs $(HOSTLAB_DIR)/outputs.json \
		--ssh-identity $(HOSTLAB_DIR)/ssh/id_ed25519 --known-hosts $(HOSTLAB_DIR)/ssh/known_hosts \
		$(HOSTLAB_DESELECT) $(CHECK_ARGS)

bench-hostchecks: hosts-up ## time of a full check run over the lab hosts, serial and parallel
	PAASMAS_HOSTLAB_DIR=$(HOSTLAB_DIR) $(PY) bench/hostchecks.py

test-prereqs: hosts-up
