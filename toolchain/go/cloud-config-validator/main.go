// Command cloud-config-validate checks a Container Linux / Flatcar cloud-config file with the
// validator that coreos-cloudinit runs on the host (config/validate), so a template error shows up
// in our tests instead of on a booting node.
//
// Usage: cloud-config-validate FILE   (FILE "-" reads standard input)
//
// It prints one line per finding, "line N: error|warning|info: message", and exits 1 if any
// finding is an error, 2 if the file cannot be read, 0 otherwise.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/coreos/coreos-cloudinit/config/validate"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: cloud-config-validate FILE  (\"-\" for standard input)")
		os.Exit(2)
	}
	content, err := readInput(os.Args[1])
	if err != nil {
		fmt.Fprintf(os.Stderr, "cloud-config-validate: %v\n", err)
		os.Exit(2)
	}
	report, err := validate.Validate(content)
	if err != nil {
		fmt.Fprintf(os.Stderr, "cloud-config-validate: %s: %v\n", os.Args[1], err)
		os.Exit(2)
	}
	errors := 0
	for _, entry := range report.Entries() {
		fmt.Println(entry.String())
		if kindOf(entry) == "error" {
			errors++
		}
	}
	if errors > 0 {
		os.Exit(1)
	}
}

func readInput(path string) ([]byte, error) {
	if path == "-" {
		return io.ReadAll(os.Stdin)
	}
	return os.ReadFile(path)
}

// kindOf reads the entry's severity through its JSON form, the only exported view of it.
func kindOf(entry validate.Entry) string {
	data, err := json.Marshal(entry)
	if err != nil {
		return "error"
	}
	var fields struct {
		Kind string `json:"kind"`
	}
	if json.Unmarshal(data, &fields) != nil {
		return "error"
	}
	return fields.Kind
}
