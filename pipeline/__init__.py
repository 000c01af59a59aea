"""The deploy pipeline as code: Job DSL seed, Jenkinsfile, and the deploy script they call."""
