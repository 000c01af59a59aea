# Cloud-config (docs/cloud-config.md): render every role and check it with real parsers.
.PHONY: render render-golden cloud-config-prereqs

# What the render tests run, from Debian (the Container Linux validator comes from `make setup`):
# shellcheck, haproxy -c, systemd-analyze verify, sshd -T, a real etcd for the agents, openssl.
CLOUD_CONFIG_PACKAGES := shellcheck haproxy systemd openssh-server etcd-server openssl curl
CLOUD_CONFIG_TOOLS := shellcheck haproxy systemd-analyze /usr/sbin/sshd etcd openssl curl

cloud-config-prereqs: ## Debian tools the render tests run (shellcheck, haproxy, etcd, ...)
	@for t in $(CLOUD_CONFIG_TOOLS); do command -v $$t >/dev/null || missing=1; done; \
	if [ -n "$$missing" ]; then \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(CLOUD_CONFIG_PACKAGES) >/dev/null; \
	fi

test-prereqs: cloud-config-prereqs

render: venv cloud-config-prereqs ## render every role for lab and example, run the checkers
	$(PY) -m pytest -m render tests/render $(PYTEST_ARGS)

render-golden: venv ## rewrite the golden user data after an intended template change
	PAASMAS_UPDATE_GOLDEN=1 $(PY) -m pytest -m render tests/render -q $(PYTEST_ARGS)
