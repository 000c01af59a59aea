# The deploy pipeline (docs/pipeline.md): what its tests need, and the command to run them.
#
# - Groovy: the 2.4 line that Jenkins core embeds, from Maven Central into the cache, to compile
#   the rendered Job DSL seed and Jenkinsfile (pipeline/tools/GroovySyntaxCheck.groovy).
# - MariaDB server and client from Debian: the tests start their own server in a temp dir.
# - shellcheck for the deploy script; java and mvn to run and fetch Groovy.

GROOVY_VERSION := $(shell cat pipeline/tools/groovy.version)
GROOVY_JAR := $(PAASMAS_CACHE)/groovy/$(GROOVY_VERSION)/groovy-all-$(GROOVY_VERSION).jar
# command -> Debian package that provides it
PIPELINE_TOOLS := mariadbd:mariadb-server mariadb-install-db:mariadb-server openssl:openssl \
	mariadb:mariadb-client shellcheck:shellcheck java:default-jdk-headless mvn:maven git:git

.PHONY: pipeline-prereqs pipeline-packages pipeline-test pipeline-render
pipeline-prereqs: pipeline-packages $(GROOVY_JAR) ## pipeline tests' tools: MariaDB, shellcheck, Groovy

pipeline-packages:
	@missing=""; for tool in $(PIPELINE_TOOLS); do \
		command -v "$${tool%%:*}" >/dev/null 2>&1 || PATH="$$PATH:/usr/sbin" command -v "$${tool%%:*}" >/dev/null 2>&1 \
			|| missing="$$missing $${tool#*:}"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "pipeline: installing$$missing"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends $$missing \
		|| { apt-get -o DPkg::Lock::Timeout=600 update -q \
		     && apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends $$missing; }; \
	fi

$(GROOVY_JAR): pipeline/tools/groovy.version
	mvn -q -B dependency:copy -Dartifact=org.codehaus.groovy:groovy-all:$(GROOVY_VERSION) \
		-DoutputDirectory=$(@D) -Dmaven.repo.local=$(PAASMAS_CACHE)/m2
	@test -s $@

test-prereqs: pipeline-prereqs

pipeline-test: venv pipeline-prereqs ## the pipeline tests: events, database state, Groovy
	$(PY) -m pytest -m pipeline tests/pipeline $(PYTEST_ARGS)

# Renders the seed, cleanup pipeline, Jenkinsfile and settings file of the defaults into build/.
pipeline-render: venv ## render the pipeline's Jenkins files for a look (build/pipeline/)
	$(PY) -m pipeline.jenkins_files build/pipeline
