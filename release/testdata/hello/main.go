// Command hello is the tiny program the release tests build, package and
// install. It imports golang.org/x/mod so that its SBOM has a dependency.
package main

import (
	"fmt"
	"os"

	"golang.org/x/mod/semver"
)

// Set with -ldflags -X by the release build.
var (
	version = "dev"
	commit  = "none"
	date    = "unknown"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "version" {
		fmt.Printf("hello %s (commit %s, built %s, canonical %s)\n", version, commit, date, semver.Canonical("v"+version))
		return
	}
	fmt.Println("hello, world")
}
