// Package law reads the legal instruments a request may rest on from their
// file (config/instruments.yaml) into the workflow's catalog. The rules are
// data: this package only decodes and checks them, strictly, so that a typo
// in the file stops the server at start instead of silently dropping a
// deadline.
package law

import (
	"bytes"
	"fmt"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/mla-flow/mla-flow/config"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// file is the shape of the instruments file.
type file struct {
	Instruments []instrument `yaml:"instruments"`
}

type instrument struct {
	Code      string   `yaml:"code"`
	Label     string   `yaml:"label"`
	Kinds     []string `yaml:"kinds"`
	Grounds   []string `yaml:"grounds"`
	Deadlines []rule   `yaml:"deadlines"`
}

type rule struct {
	Kind                    string   `yaml:"kind"`
	Days                    int      `yaml:"days"`
	ConsentDays             int      `yaml:"consent_days"`
	ExtendableDays          int      `yaml:"extendable_days"`
	StartsOn                string   `yaml:"starts_on"`
	MetBy                   []string `yaml:"met_by"`
	Side                    string   `yaml:"side"`
	StopsWhileInfoRequested bool     `yaml:"stops_while_info_requested"`
	OnlyUrgent              bool     `yaml:"only_urgent"`
	Basis                   string   `yaml:"basis"`
}

// Parse reads an instruments file into a catalog. Unknown keys, unknown
// kinds, grounds, events or sides are errors.
func Parse(text []byte) (*workflow.Catalog, error) {
	dec := yaml.NewDecoder(bytes.NewReader(text))
	dec.KnownFields(true)
	var f file
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("instruments: %w", err)
	}
	items := make([]workflow.Instrument, 0, len(f.Instruments))
	for _, in := range f.Instruments {
		out := workflow.Instrument{Code: in.Code, Label: in.Label, Grounds: in.Grounds, Deadlines: []workflow.DeadlineRule{}}
		if out.Grounds == nil {
			out.Grounds = []string{}
		}
		for _, k := range in.Kinds {
			out.Kinds = append(out.Kinds, workflow.Kind(k))
		}
		for _, r := range in.Deadlines {
			dr := workflow.DeadlineRule{
				Kind: r.Kind, Days: r.Days, ConsentDays: r.ConsentDays, ExtendableDays: r.ExtendableDays,
				StartsOn: r.StartsOn, Side: workflow.Side(r.Side), Basis: r.Basis,
				StopsWhileInfoRequested: r.StopsWhileInfoRequested, OnlyUrgent: r.OnlyUrgent,
			}
			for _, e := range r.MetBy {
				dr.MetBy = append(dr.MetBy, workflow.Event(e))
			}
			out.Deadlines = append(out.Deadlines, dr)
		}
		items = append(items, out)
	}
	c, err := workflow.NewCatalog(items)
	if err != nil {
		return nil, fmt.Errorf("instruments: %w", err)
	}
	return c, nil
}

var (
	builtin     *workflow.Catalog
	builtinErr  error
	builtinOnce sync.Once
)

// Catalog is the catalog of the instruments file built into the server
// (config.Instruments), read once.
func Catalog() (*workflow.Catalog, error) {
	builtinOnce.Do(func() { builtin, builtinErr = Parse(config.Instruments) })
	return builtin, builtinErr
}

// MustCatalog is Catalog for the wiring of tests and tools, which cannot
// run without it; the server reports the error instead.
func MustCatalog() *workflow.Catalog {
	c, err := Catalog()
	if err != nil {
		panic(err)
	}
	return c
}
