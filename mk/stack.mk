# The main job: the platform on a stack (default: `lab`, the local cloud of docs/lab.md).
#   make up                 setup -> lab-up -> select/create the stack -> pulumi up -> outputs
#   make outputs            the output contract of the stack (secrets hidden)
#   make destroy            remove everything, database protection included (asks for STACK)
STACK ?= lab
# The lab stack needs the local cloud; any other stack uses the cloud its clouds.yaml names.
STACK_CLOUD := $(if $(filter lab,$(STACK)),lab-up)

.PHONY: up destroy outputs stack-select lab-stack-file roll
# Pulumi keeps the passphrase provider's salt in the stack file, and the salt belongs to this
# checkout's passphrase: the lab's settings are committed as stacks/lab.yaml, and Pulumi's
# stacks/Pulumi.lab.yaml (ignored by git) is those settings plus the salt Pulumi wrote there.
LAB_STACK_FILE := stacks/Pulumi.lab.yaml
lab-stack-file:
	@{ grep -E '^encryptionsalt: ' $(LAB_STACK_FILE) 2>/dev/null || true; \
	   cat stacks/lab.yaml; } > $(LAB_STACK_FILE).new && mv $(LAB_STACK_FILE).new $(LAB_STACK_FILE)

stack-select: setup $(STACK_CLOUD) $(if $(filter lab,$(STACK)),lab-stack-file)
	@pulumi stack select --create --non-interactive $(STACK) >/dev/null
	@echo "stack: $(STACK) (backend $(PULUMI_BACKEND_URL))"

# --refresh: what was deleted or changed behind the stack's back is seen and put right, not
# reported as "unchanged" (README "Operations").
up: stack-select ## the whole platform on STACK (default lab): pulumi up --refresh, then its outputs
	pulumi up --yes --non-interactive --refresh --stack $(STACK) $(POLICY_FLAGS)
	@$(MAKE) --no-print-directory outputs STACK=$(STACK)

# User-data changes never replace a node by themselves; this replaces one, on its own port, when
# its role passes the host checks, and waits until it passes them again. CHECKS=off where no
# node boots (the lab's fake compute).
CHECKS ?= on
roll: stack-select ## replace one node on purpose with its current user data: NODE=<hostname>
	@test -n "$(NODE)" || { echo "make roll: set NODE=<hostname> (see make outputs, node_ips)" >&2; exit 2; }
	PAASMAS_ROLL_CHECKS="$(if $(filter off,$(CHECKS)),off,--ssh-identity $(SSH_IDENTITY) --known-hosts $(KNOWN_HOSTS))" \
		$(PY) -m ops.roll $(STACK) $(NODE) $(POLICY_FLAGS)

outputs: ## the stack's outputs (the pipeline contract); secrets stay hidden
	@pulumi stack output --json --stack $(STACK)

destroy: stack-select ## remove everything of STACK, protected database nodes and volumes too
	pulumi state unprotect --all --yes --stack $(STACK)
	pulumi destroy --yes --non-interactive --stack $(STACK)
