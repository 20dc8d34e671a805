// Command bao is OpenBao's server and CLI, built from a pinned release commit so that the test
// world has a real Vault-compatible KMS without downloading a prebuilt binary.
package main

import (
	"os"

	"github.com/hashicorp/vault/command"
)

func main() {
	os.Exit(command.Run(os.Args[1:]))
}
