package mapping

import "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"

// fieldOverrides: per Terraform resource, the properties whose SDK name or shape differs from the
// bridge's automatic one (found by tests/engine/test_openstack_schema.py, which compares every
// resource and function of the generated schema with the SDK).
var fieldOverrides = map[string]map[string]*tfbridge.SchemaInfo{
	// A property named `outputs` would clash with Pulumi's own notion of outputs.
	"openstack_orchestration_stack_v1": {"outputs": {Name: "StackOutputs"}},
}
