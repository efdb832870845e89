package workflow

import (
	"go/ast"
	"path/filepath"
	"testing"
)

// TestAuditRecord_builtOnce reads the source of every package of the
// module and fails for an AuditRecord built anywhere but in
// Change.AuditRecord: every audit entry, the workflow's, auth's and the
// seeder's, is to come from a Change through that one function.
func TestAuditRecord_builtOnce(t *testing.T) {
	fset, pkgs := modulePackages(t)
	found := 0
	for _, files := range pkgs {
		for _, f := range files {
			for _, d := range f.Decls {
				fn, isFunc := d.(*ast.FuncDecl)
				allowed := isFunc && fn.Name.Name == "AuditRecord" && fn.Recv != nil &&
					filepath.Base(fset.Position(fn.Pos()).Filename) == "change.go"
				ast.Inspect(d, func(n ast.Node) bool {
					lit, ok := n.(*ast.CompositeLit)
					if !ok || !isAuditRecordType(lit.Type) {
						return true
					}
					found++
					if !allowed {
						t.Errorf("%s: an AuditRecord built by hand; build a workflow.Change and let Change.AuditRecord make the record",
							fset.Position(lit.Pos()))
					}
					return true
				})
			}
		}
	}
	if found != 1 {
		t.Errorf("found %d AuditRecord literals, want the one in Change.AuditRecord", found)
	}
}

// isAuditRecordType reports whether e names AuditRecord, in this package
// or as workflow.AuditRecord.
func isAuditRecordType(e ast.Expr) bool {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name == "AuditRecord"
	case *ast.SelectorExpr:
		return e.Sel.Name == "AuditRecord"
	}
	return false
}
