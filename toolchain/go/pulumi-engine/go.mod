// Build module for the Pulumi CLI and our Python language host. The Pulumi version is not pinned
// here: toolchain/build.sh sets it from requirements.txt (go mod edit) in a copy under
// $PAASMAS_CACHE and runs go mod tidy there.
module paasmas.local/toolchain/pulumi-engine

go 1.25

// Copied from pulumi/pkg's own go.mod: the CLI needs this fork of the clipboard package.
replace github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e
