package testenv

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// axePath is where `npm ci --prefix e2e/testdata/node` puts axe-core's browser build, relative to the module root.
var axePath = filepath.Join("e2e", "testdata", "node", "node_modules", "axe-core", "axe.min.js")

// AxeSource returns the JavaScript of axe-core (axe.min.js), the accessibility rules that browser tests run in the
// pages they audit, from the pinned npm package in e2e/testdata/node. It skips the test when the package is not
// installed (make test installs it) and fails it when the module root cannot be found or the file cannot be read.
func AxeSource(tb testing.TB) string {
	tb.Helper()
	root, err := moduleRoot()
	if err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(root, axePath))
	if errors.Is(err, fs.ErrNotExist) {
		tb.Skip("axe-core not installed: run make test or npm ci --prefix e2e/testdata/node")
	}
	if err != nil {
		tb.Fatalf("testenv: reading axe-core: %v", err)
	}
	return string(b)
}

// moduleRoot returns the nearest directory, from the working directory (a test's is its package's folder) upwards,
// that holds a go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if fi, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil && fi.Mode().IsRegular() {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod in the working directory or above it")
		}
		dir = parent
	}
}
