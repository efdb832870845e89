package workflow

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestDetailKeys_classified reads the source of every package of the module
// and fails for an audit detail key that some code writes and detailClasses
// does not classify, and for a classified key that no code writes (but the
// old names, which stored entries keep). Unclassified keys are hidden from
// every reader; this test makes the author of a new one decide its class.
//
// Detail maps are found where the code shapes them: a map[string]any
// literal given as a Details field, assigned to details or to x.Details,
// returned by a function named ...Details, or passed as a parameter named
// details; and details[key] or x.Details[key] assignments. Their keys must
// be string literals, so that this test can read them.
func TestDetailKeys_classified(t *testing.T) {
	written := map[string][]string{} // key → where
	fset, pkgs := modulePackages(t)
	// All packages at once, so that a map given to another package's
	// function (workflow.Recorded's details, from internal/auth) is found.
	var all []*ast.File
	for _, files := range pkgs {
		all = append(all, files...)
	}
	s := detailScan{t: t, fset: fset, found: func(pos token.Position, key string) {
		written[key] = append(written[key], filepath.Base(filepath.Dir(pos.Filename))+"/"+filepath.Base(pos.Filename)+":"+strconv.Itoa(pos.Line))
	}}
	s.scan(all)
	for key, where := range written {
		if ClassOf(key) == DetailUnclassified {
			t.Errorf("audit detail %q (written at %s) has no class in detailClasses: decide who may read it", key, strings.Join(where, ", "))
		}
	}
	old := []string{"comment_sha256", "content_sha256"} // written before keyed digests
	for key := range detailClasses {
		if _, ok := written[key]; !ok && !slices.Contains(old, key) {
			t.Errorf("detailClasses classifies %q, which no code writes", key)
		}
	}
	// The scan is not vacuous: it finds what each writer writes.
	for _, key := range []string{"grounds", "comment_hmac", "content_hmac", "error", "client_ip", "sessions_revoked", "kid", "password_policy"} {
		if _, ok := written[key]; !ok {
			t.Errorf("the scan did not find detail %q", key)
		}
	}
}

// modulePackages parses the non-test Go files of the module, by directory.
func modulePackages(t *testing.T) (*token.FileSet, map[string][]*ast.File) {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root: %v", err)
	}
	fset := token.NewFileSet()
	pkgs := map[string][]*ast.File{}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "vendor") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		pkgs[filepath.Dir(path)] = append(pkgs[filepath.Dir(path)], f)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return fset, pkgs
}

// detailScan finds the detail keys that the files of one package write.
type detailScan struct {
	t     *testing.T
	fset  *token.FileSet
	found func(token.Position, string)
}

// scan calls s.found for every detail key that files write.
func (s detailScan) scan(files []*ast.File) {
	params := map[string][]string{} // function name → its parameters' names
	for _, f := range files {
		for _, d := range f.Decls {
			if fn, ok := d.(*ast.FuncDecl); ok {
				for _, field := range fn.Type.Params.List {
					for _, n := range field.Names {
						params[fn.Name.Name] = append(params[fn.Name.Name], n.Name)
					}
				}
			}
		}
	}
	literal := func(e ast.Expr) {
		lit, ok := e.(*ast.CompositeLit)
		if !ok || !isStringAnyMap(lit.Type) {
			return
		}
		for _, el := range lit.Elts {
			s.key(el.(*ast.KeyValueExpr).Key)
		}
	}
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.KeyValueExpr:
				if id, ok := n.Key.(*ast.Ident); ok && id.Name == "Details" {
					literal(n.Value)
				}
			case *ast.AssignStmt:
				for i, lhs := range n.Lhs {
					if isDetails(lhs) && len(n.Rhs) == len(n.Lhs) {
						literal(n.Rhs[i])
					}
					if ix, ok := lhs.(*ast.IndexExpr); ok && isDetails(ix.X) {
						s.key(ix.Index)
					}
				}
			case *ast.FuncDecl:
				if strings.HasSuffix(n.Name.Name, "Details") && n.Body != nil {
					ast.Inspect(n.Body, func(m ast.Node) bool {
						if ret, ok := m.(*ast.ReturnStmt); ok {
							for _, r := range ret.Results {
								literal(r)
							}
						}
						return true
					})
				}
			case *ast.CallExpr:
				names := params[calleeName(n.Fun)]
				for i, arg := range n.Args {
					if i < len(names) && names[i] == "details" {
						literal(arg)
					}
				}
			}
			return true
		})
	}
}

// key reports a detail key, which must be a string literal.
func (s detailScan) key(e ast.Expr) {
	s.t.Helper()
	if lit, ok := e.(*ast.BasicLit); ok && lit.Kind == token.STRING {
		if k, err := strconv.Unquote(lit.Value); err == nil {
			s.found(s.fset.Position(e.Pos()), k)
			return
		}
	}
	s.t.Errorf("%s: an audit detail key that is not a string literal cannot be checked against its class", s.fset.Position(e.Pos()))
}

// isDetails reports whether e is a variable named details or a field
// named Details.
func isDetails(e ast.Expr) bool {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name == "details"
	case *ast.SelectorExpr:
		return e.Sel.Name == "Details"
	}
	return false
}

// isStringAnyMap reports whether e is the type map[string]any.
func isStringAnyMap(e ast.Expr) bool {
	m, ok := e.(*ast.MapType)
	if !ok {
		return false
	}
	k, kok := m.Key.(*ast.Ident)
	v, vok := m.Value.(*ast.Ident)
	return kok && vok && k.Name == "string" && v.Name == "any"
}

// calleeName is the name of the function or method called.
func calleeName(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name
	case *ast.SelectorExpr:
		return e.Sel.Name
	}
	return ""
}
