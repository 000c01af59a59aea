# Stack previews for code review and the policy pack (docs/policy.md).
#   make preview STACK=lab        Markdown preview in build/preview/lab.md; exit 2 = destructive,
#                                 exit 1 = blocked (preview failed or a mandatory policy violated)
#   make policy-check STACK=lab   run the policy pack on STACK (a preview that applies nothing)
#   make policy-outputs STACK=lab declared secret outputs marked secret, no private key in plain
#   make policy-test              the rule and summary tests (no cloud needed)
POLICY_PACK := policy
# Every preview and update runs the pack: `pulumi up $(POLICY_FLAGS)` (mk/stack.mk).
POLICY_FLAGS := --policy-pack $(POLICY_PACK)
PREVIEW_DIR := build/preview

.PHONY: preview policy-check policy-outputs policy-test
preview: stack-select ## Markdown preview of STACK for a PR; exit 2 if destructive, 1 if blocked
	@mkdir -p $(PREVIEW_DIR)
	$(PY) -m policy.preview_summary run --stack $(STACK) --policy-pack $(POLICY_PACK) \
		--out $(PREVIEW_DIR)/$(STACK).md --json-out $(PREVIEW_DIR)/$(STACK).json

policy-check: stack-select ## run the policy pack on STACK's planned state (applies nothing)
	pulumi preview --non-interactive --stack $(STACK) $(POLICY_FLAGS)

policy-outputs: ## STACK's outputs: declared secrets marked secret, no private key in plain text
	@mkdir -p $(PREVIEW_DIR)
	@pulumi stack output --json --stack $(STACK) > $(PREVIEW_DIR)/$(STACK)-outputs.json
	$(PY) -m policy.preview_summary check-outputs $(PREVIEW_DIR)/$(STACK)-outputs.json

policy-test: venv ## the policy pack's rule tests and the preview summary tests (fast, no cloud)
	$(PY) -m pytest -m policy tests/policy $(PYTEST_ARGS)
