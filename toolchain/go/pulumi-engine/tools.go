//go:build tools

// Package tools records the upstream main packages this module builds, so that go mod tidy keeps
// their modules in the build list.
package tools

import (
	_ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
)
