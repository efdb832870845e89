package config

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// module is the import path of the program's own packages.
const module = "github.com/mla-flow/mla-flow"

// TestConfig_isALeaf fails when a file of the package (its tests included)
// imports a package of the program: config is read by the wiring, and
// knowing any other package would let a rule of that package hide among the
// settings (STYLE.md: audit and config are leaves; ARCHITECTURE.md,
// Foundations).
func TestConfig_isALeaf(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("no Go files found: %v", err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, err := strconv.Unquote(imp.Path.Value)
			if err != nil {
				t.Fatal(err)
			}
			if path == module || strings.HasPrefix(path, module+"/") {
				t.Errorf("%s imports %s; config must import only the standard library and third-party packages", name, path)
			}
		}
	}
}
