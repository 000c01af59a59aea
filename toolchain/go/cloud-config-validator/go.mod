// Build module for cloud-config-validate, a command around the Container Linux cloud-config
// validator (coreos-cloudinit's config/validate). toolchain/build.sh builds it in a copy under
// $PAASMAS_CACHE.
//
// Why upstream CoreOS v1.14.0 and not Flatcar's fork: the Go module proxy reachable here refuses
// every github.com/flatcar/coreos-cloudinit version; v1.14.0 is the archived upstream's last tag.
// Its yaml fork has no tags: the pseudo-version is the commit its vendor.manifest names.
module paasmas.local/toolchain/cloud-config-validator

go 1.25

require github.com/coreos/coreos-cloudinit v1.14.0

require (
	github.com/coreos/yaml v0.0.0-20141224210557-6b16a5714269 // indirect
	gopkg.in/check.v1 v1.0.0-20201130134442-10cb98267c6c // indirect
)
