// Command pulumi-tfgen-openstack writes the Pulumi schema of our bridged OpenStack provider
// (`pulumi-tfgen-openstack schema --out DIR`); the plugin embeds it.
package main

import (
	"fmt"
	"os"

	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfgen"

	"paasmas.local/toolchain/openstack-provider/mapping"
)

// The upstream provider's module directory (build.sh: `go list -m -f {{.Dir}}`), where tfgen
// reads its documentation for the schema's descriptions.
const upstreamDirEnv = "PAASMAS_UPSTREAM_DIR"

// version is stamped by toolchain/build.sh (-X main.version=…): the pulumi-openstack pin.
var version = "0.0.0-dev"

func main() {
	prov := mapping.Provider(version)
	prov.UpstreamRepoPath = os.Getenv(upstreamDirEnv)
	if err := mapping.Check(prov); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	tfgen.Main("openstack", version, prov)
}
