# Cloud-config (docs/cloud-config.md): render every role and check it with real parsers.
.PHONY: render render-golden cloud-config-prereqs

# The checkers the render tests run, from Debian (the validator comes from `make setup`).
CLOUD_CONFIG_TOOLS := shellcheck haproxy systemd-analyze
cloud-config-prereqs: ## shellcheck, haproxy and systemd-analyze for the render tests
	@missing=""; for t in $(CLOUD_CONFIG_TOOLS); do command -v $$t >/dev/null || missing=1; done; \
	if [ -n "$$missing" ]; then \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q shellcheck haproxy systemd >/dev/null; \
	fi

test-prereqs: cloud-config-prereqs

render: venv cloud-config-prereqs ## render every role for lab and example, run the checkers
	$(PY) -m pytest -m render tests/render $(PYTEST_ARGS)

render-golden: venv ## rewrite the golden user data after an intended template change
	PAASMAS_UPDATE_GOLDEN=1 $(PY) -m pytest -m render tests/render -q $(PYTEST_ARGS)
