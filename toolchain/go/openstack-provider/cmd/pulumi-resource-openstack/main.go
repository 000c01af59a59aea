// Command pulumi-resource-openstack is the OpenStack resource plugin: the upstream Terraform
// provider served through the Pulumi Terraform bridge with our token mapping, and the schema
// pulumi-tfgen-openstack generated from the same mapping embedded.
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"

	"paasmas.local/toolchain/openstack-provider/mapping"
)

// version is stamped by toolchain/build.sh (-X main.version=…): the pulumi-openstack pin.
var version = "0.0.0-dev"

// schema.json is written by pulumi-tfgen-openstack in the build copy, never committed.
//
//go:embed schema.json
var schema []byte

func main() {
	tfbridge.Main("openstack", version, mapping.Provider(version), schema)
}
