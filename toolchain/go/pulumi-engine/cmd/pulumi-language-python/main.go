// Command pulumi-language-python is the Python language host the Pulumi engine starts to run a
// Python program.
//
// Why our own: the Go module proxy reachable here serves the Pulumi CLI and SDK modules
// (github.com/pulumi/pulumi/pkg/v3, sdk/v3) but not upstream's language host module
// (github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3), at any version. The host is
// a thin gRPC server: it resolves the Python interpreter with the SDK's own toolchain package and
// runs the SDK's own executor script, pulumi-language-python-exec, taken from the same sdk/v3
// release and installed next to this binary. The Python side (pulumi on PyPI) does the real work.
//
// Implemented: Handshake, GetPluginInfo, GetRequiredPackages (from pulumi-plugin.json files of the
// installed packages), Run, About, GetProgramDependencies, RunPlugin (Python policy packs,
// runplugin.go). Not implemented (the engine reports "unimplemented"): code generation,
// templates, dependency installation (the project's `make venv` installs the packages).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/logging"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/version"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"github.com/pulumi/pulumi/sdk/v3/python/toolchain"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
)

// executorName is the SDK's program runner, expected in the same directory as this binary.
const executorName = "pulumi-language-python-exec"

// userActionableExit is the executor's exit code after it has already reported the error
// (for example an unhandled exception with its traceback) through the engine.
const userActionableExit = 32

func main() {
	flag.String("tracing", "", "Zipkin-compatible tracing endpoint (accepted, unused)")
	flag.Parse()
	logging.InitLogging(false, 0, false)

	engineAddress := ""
	if flag.NArg() > 0 {
		engineAddress = flag.Arg(0)
	}
	executor, err := findExecutor()
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-python: %v\n", err)
		os.Exit(1)
	}

	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, &pythonHost{
				executor:      executor,
				engineAddress: engineAddress,
			})
			return nil
		},
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-python: could not start the RPC server: %v\n", err)
		os.Exit(1)
	}
	// The engine reads the port from the first line of stdout.
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-python: RPC server stopped: %v\n", err)
		os.Exit(1)
	}
}

func findExecutor() (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	self, err = filepath.EvalSymlinks(self)
	if err != nil {
		return "", err
	}
	path := filepath.Join(filepath.Dir(self), executorName)
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("missing executor %s next to the language host (run `make setup`): %w",
			path, err)
	}
	return path, nil
}

type pythonHost struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	executor      string
	engineAddress string
}

// programOptions are the `runtime.options` of Pulumi.yaml that select the interpreter.
type programOptions struct {
	root       string
	programDir string
	virtualenv string
}

func optionsOf(info *pulumirpc.ProgramInfo) programOptions {
	opts := programOptions{root: info.GetRootDirectory(), programDir: info.GetProgramDirectory()}
	if opts.programDir == "" {
		opts.programDir = opts.root
	}
	if v, ok := info.GetOptions().AsMap()["virtualenv"].(string); ok {
		opts.virtualenv = v
	}
	return opts
}

// python returns the pip toolchain for the program: its virtualenv if Pulumi.yaml names one,
// otherwise python3 from PATH.
func (o programOptions) python() (toolchain.Toolchain, error) {
	return toolchain.ResolveToolchain(toolchain.PythonOptions{
		Root:       o.root,
		ProgramDir: o.programDir,
		Virtualenv: o.virtualenv,
		Toolchain:  toolchain.Pip,
	})
}

func (h *pythonHost) Handshake(
	_ context.Context, _ *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *pythonHost) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version.Version}, nil
}

// pluginManifest is the pulumi-plugin.json that each provider SDK package ships.
type pluginManifest struct {
	Resource bool   `json:"resource"`
	Name     string `json:"name"`
	Version  string `json:"version"`
	Server   string `json:"server"`
}

// GetRequiredPackages lists the provider plugins that the installed provider SDKs declare, so the
// engine checks them up front and names a missing one before the program starts.
func (h *pythonHost) GetRequiredPackages(
	ctx context.Context, req *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	tc, err := optionsOf(req.GetInfo()).python()
	if err != nil {
		return nil, err
	}
	cmd, err := tc.Command(ctx, "-c", sitePackagesScript)
	if err != nil {
		return nil, err
	}
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("listing site-packages with %s: %w", cmd.Path, err)
	}
	var dirs []string
	if err := json.Unmarshal(out, &dirs); err != nil {
		return nil, fmt.Errorf("parsing site-packages list %q: %w", out, err)
	}
	seen := map[string]bool{}
	var packages []*pulumirpc.PackageDependency
	for _, dir := range dirs {
		manifests, _ := filepath.Glob(filepath.Join(dir, "*", "pulumi-plugin.json"))
		sort.Strings(manifests)
		for _, path := range manifests {
			m, err := readManifest(path)
			if err != nil {
				return nil, err
			}
			if !m.Resource || m.Name == "" || seen[m.Name] {
				continue
			}
			seen[m.Name] = true
			packages = append(packages, &pulumirpc.PackageDependency{
				Name: m.Name, Kind: "resource", Version: m.Version, Server: m.Server,
			})
		}
	}
	return &pulumirpc.GetRequiredPackagesResponse{Packages: packages}, nil
}

const sitePackagesScript = "import json, site, sys; " +
	"print(json.dumps([p for p in site.getsitepackages() + [site.getusersitepackages()]]))"

func readManifest(path string) (pluginManifest, error) {
	var m pluginManifest
	data, err := os.ReadFile(path)
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return m, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// Run starts the SDK's executor on the program and waits for it.
func (h *pythonHost) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	opts := optionsOf(req.GetInfo())
	tc, err := opts.python()
	if err != nil {
		return nil, err
	}
	cmd, err := tc.Command(ctx, append([]string{"-u", h.executor}, h.executorArgs(req)...)...)
	if err != nil {
		return nil, err
	}
	env, err := configEnv(req)
	if err != nil {
		return nil, err
	}
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Env = append(cmd.Env, env...)
	cmd.Dir = req.GetPwd()
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr

	err = cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return &pulumirpc.RunResponse{}, nil
	case errors.As(err, &exitErr) && exitErr.ExitCode() == userActionableExit:
		// The executor already reported the error (with its traceback) through the engine.
		return &pulumirpc.RunResponse{Bail: true}, nil
	case errors.As(err, &exitErr):
		return &pulumirpc.RunResponse{
			Error: fmt.Sprintf("Program exited with non-zero exit code: %d", exitErr.ExitCode()),
		}, nil
	default:
		return &pulumirpc.RunResponse{
			Error: fmt.Sprintf("could not run the Python executor %s: %v", cmd.Path, err),
		}, nil
	}
}

// executorArgs is the command line pulumi-language-python-exec parses (argparse, see the script).
func (h *pythonHost) executorArgs(req *pulumirpc.RunRequest) []string {
	var args []string
	add := func(name, value string) {
		if value != "" {
			args = append(args, "--"+name, value)
		}
	}
	add("monitor", req.GetMonitorAddress())
	add("engine", h.engineAddress)
	add("project", req.GetProject())
	add("stack", req.GetStack())
	add("pwd", req.GetPwd())
	add("dry_run", strconv.FormatBool(req.GetDryRun()))
	add("parallel", strconv.Itoa(int(req.GetParallel())))
	add("organization", req.GetOrganization())
	add("root_directory", req.GetInfo().GetRootDirectory())

	program := req.GetInfo().GetEntryPoint()
	if program == "" {
		program = req.GetProgram()
	}
	if program == "" {
		program = "."
	}
	args = append(args, program)
	return append(args, req.GetArgs()...)
}

// configEnv passes the stack configuration the way the Python SDK reads it at start-up.
func configEnv(req *pulumirpc.RunRequest) ([]string, error) {
	configMap := req.GetConfig()
	if configMap == nil {
		configMap = map[string]string{} // the SDK expects an object, never null
	}
	config, err := json.Marshal(configMap)
	if err != nil {
		return nil, err
	}
	secretKeys := req.GetConfigSecretKeys()
	if secretKeys == nil {
		secretKeys = []string{}
	}
	secrets, err := json.Marshal(secretKeys)
	if err != nil {
		return nil, err
	}
	return []string{
		"PULUMI_CONFIG=" + string(config),
		"PULUMI_CONFIG_SECRET_KEYS=" + string(secrets),
	}, nil
}

func (h *pythonHost) About(
	ctx context.Context, req *pulumirpc.AboutRequest,
) (*pulumirpc.AboutResponse, error) {
	tc, err := optionsOf(req.GetInfo()).python()
	if err != nil {
		return nil, err
	}
	info, err := tc.About(ctx)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.AboutResponse{
		Executable: info.PythonExecutable,
		Version:    info.PythonVersion.String(),
	}, nil
}

func (h *pythonHost) GetProgramDependencies(
	ctx context.Context, req *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	tc, err := optionsOf(req.GetInfo()).python()
	if err != nil {
		return nil, err
	}
	deps, err := tc.ListPackages(ctx, req.GetTransitiveDependencies())
	if err != nil {
		return nil, err
	}
	result := make([]*pulumirpc.DependencyInfo, 0, len(deps))
	for _, d := range deps {
		result = append(result, &pulumirpc.DependencyInfo{Name: d.Name, Version: d.Version})
	}
	return &pulumirpc.GetProgramDependenciesResponse{Dependencies: result}, nil
}
