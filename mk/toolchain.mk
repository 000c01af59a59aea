# The Pulumi toolchain (docs/toolchain.md): `make setup` builds or reuses the Pulumi CLI, the
# Python language host, the provider plugins and the cloud-config validator under $(PAASMAS_CACHE).
#
# Every recipe runs with the environment of toolchain/env.sh (local binaries and plugins only, no
# update checks, file:// backend under .state/, passphrase secrets provider). The variables come
# from that script, which prints them as Make exports.

.PHONY: setup toolchain toolchain-env

setup: venv toolchain ## virtualenv + Pulumi CLI, language host, provider plugins, validator

toolchain: ## build or reuse the Pulumi toolchain under $PAASMAS_CACHE (cold: 20-35 min)
	@bash toolchain/build.sh

toolchain-env: ## print the environment every recipe gets (the same as `source toolchain/env.sh`)
	@env | grep -E '^(PATH|PULUMI_[A-Z_]+|PAASMAS_[A-Z_]+)=' | sort

test-prereqs: setup

# Evaluated on every make run (a few milliseconds), so it follows the caller's environment.
define _toolchain_newline


endef
$(eval $(subst |NL|,$(_toolchain_newline),$(shell PAASMAS_CACHE='$(PAASMAS_CACHE)' bash toolchain/env.sh --make)))
