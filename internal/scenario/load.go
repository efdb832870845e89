package scenario

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/mla-flow/mla-flow/config"
)

// Load reads every *.yaml file at the top of fsys as one scenario each,
// sorted by file name. Every problem of every file is reported, one a
// line, as "file:line: field: reason", so that a trainer fixing a file
// sees all of them at once; unknown fields are errors (a misspelt key
// would otherwise silently drop a rule).
func Load(fsys fs.FS) ([]*Scenario, error) {
	names, err := fs.Glob(fsys, "*.yaml")
	if err != nil {
		return nil, fmt.Errorf("scenarios: %w", err)
	}
	sort.Strings(names)
	var out []*Scenario
	var problems []string
	ids := map[string]string{}
	for _, name := range names {
		text, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("scenarios: %w", err)
		}
		s, errs := parse(name, text)
		if len(errs) > 0 {
			problems = append(problems, errs...)
			continue
		}
		if other, dup := ids[s.ID]; dup {
			problems = append(problems, fmt.Sprintf("%s:%d: id: %q is already the id of %s", name, s.line("id"), s.ID, other))
			continue
		}
		ids[s.ID] = name
		out = append(out, s.Scenario)
	}
	if len(problems) > 0 {
		return nil, errors.New("scenarios:\n" + strings.Join(problems, "\n"))
	}
	return out, nil
}

// Bundled reads the scenarios that ship with the server
// (config/scenarios, embedded at build time).
func Bundled() ([]*Scenario, error) {
	sub, err := fs.Sub(config.Scenarios, "scenarios")
	if err != nil {
		return nil, err
	}
	return Load(sub)
}

var yamlLine = regexp.MustCompile(`^line (\d+): `)

// parsed is a scenario with the line of each of its fields, by path.
type parsed struct {
	*Scenario
	lines map[string]int
}

func (p parsed) line(field string) int {
	for f := field; f != ""; f = parent(f) {
		if l, ok := p.lines[f]; ok {
			return l
		}
	}
	return 1
}

// parent is the path of the field that holds f: requests[0].title →
// requests[0] → requests.
func parent(f string) string {
	if i := strings.LastIndexAny(f, ".["); i >= 0 {
		return f[:i]
	}
	return ""
}

// parse decodes and checks one file.
func parse(name string, text []byte) (parsed, []string) {
	d := &decoder{file: name, lines: map[string]int{}}
	var doc yaml.Node
	if err := yaml.Unmarshal(text, &doc); err != nil {
		// The YAML parser says "yaml: line 12: reason"; put it in the
		// file:line: form of every other problem.
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		line := 1
		if m := yamlLine.FindStringSubmatch(msg); m != nil {
			line, _ = strconv.Atoi(m[1])
			msg = msg[len(m[0]):]
		}
		return parsed{}, []string{fmt.Sprintf("%s:%d: (syntax): %s", name, line, msg)}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return parsed{}, []string{fmt.Sprintf("%s:1: the file is empty", name)}
	}
	s := &Scenario{File: path.Base(name)}
	d.decode(doc.Content[0], reflect.ValueOf(s).Elem(), "")
	if len(d.errs) > 0 {
		return parsed{}, d.errs
	}
	p := parsed{Scenario: s, lines: d.lines}
	v := &validator{p: p}
	v.check()
	return p, v.errs
}

// decoder decodes a YAML node tree into the scenario types strictly: by
// their json names, without unknown or repeated keys, recording the line of
// every field.
type decoder struct {
	file  string
	lines map[string]int
	errs  []string
}

func (d *decoder) fail(n *yaml.Node, field, format string, args ...any) {
	d.errs = append(d.errs, fmt.Sprintf("%s:%d: %s: %s", d.file, n.Line, displayField(field), fmt.Sprintf(format, args...)))
}

func displayField(f string) string {
	if f == "" {
		return "(top)"
	}
	return f
}

var (
	offsetType = reflect.TypeOf(Offset(0))
	delayType  = reflect.TypeOf(Delay{})
)

func (d *decoder) decode(n *yaml.Node, v reflect.Value, field string) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if field != "" {
		if _, seen := d.lines[field]; !seen {
			d.lines[field] = n.Line
		}
	}
	switch {
	case v.Type() == offsetType:
		if !d.scalar(n, field) {
			return
		}
		o, err := ParseOffset(n.Value)
		if err != nil {
			d.fail(n, field, "%v", err)
			return
		}
		v.SetInt(int64(o))
		return
	case v.Type() == delayType:
		if !d.scalar(n, field) {
			return
		}
		dl, err := ParseDelay(n.Value)
		if err != nil {
			d.fail(n, field, "%v", err)
			return
		}
		v.Set(reflect.ValueOf(dl))
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if n.Tag == "!!null" {
			return
		}
		p := reflect.New(v.Type().Elem())
		d.decode(n, p.Elem(), field)
		v.Set(p)
	case reflect.String:
		if !d.scalar(n, field) {
			return
		}
		v.SetString(n.Value)
	case reflect.Bool:
		if !d.scalar(n, field) {
			return
		}
		b, err := strconv.ParseBool(n.Value)
		if err != nil || n.Tag != "!!bool" {
			d.fail(n, field, "must be true or false, not %q", n.Value)
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64:
		if !d.scalar(n, field) {
			return
		}
		i, err := strconv.ParseInt(n.Value, 10, 64)
		if err != nil || n.Tag != "!!int" {
			d.fail(n, field, "must be a whole number, not %q", n.Value)
			return
		}
		v.SetInt(i)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.fail(n, field, "must be a list")
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			d.decode(item, s.Index(i), fmt.Sprintf("%s[%d]", field, i))
		}
		v.Set(s)
	case reflect.Struct:
		d.decodeStruct(n, v, field)
	default:
		d.fail(n, field, "cannot be decoded (a %s)", v.Kind())
	}
}

func (d *decoder) scalar(n *yaml.Node, field string) bool {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		d.fail(n, field, "must be a single value")
		return false
	}
	return true
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, field string) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, field, "must be a mapping of fields")
		return
	}
	fields := map[string]reflect.Value{}
	collectFields(v, fields)
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := n.Content[i], n.Content[i+1]
		name := key.Value
		sub := name
		if field != "" {
			sub = field + "." + name
		}
		fv, known := fields[name]
		switch {
		case !known:
			d.fail(key, sub, "unknown field (known: %s)", knownNames(fields))
			continue
		case seen[name]:
			d.fail(key, sub, "given twice")
			continue
		}
		seen[name] = true
		d.lines[sub] = key.Line
		d.decode(val, fv, sub)
	}
}

// collectFields maps the json names of v's fields (those of embedded
// structs inlined, as encoding/json does) to the fields.
func collectFields(v reflect.Value, into map[string]reflect.Value) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			collectFields(v.Field(i), into)
			continue
		}
		if name == "" {
			continue
		}
		into[name] = v.Field(i)
	}
}

func knownNames(fields map[string]reflect.Value) string {
	names := make([]string, 0, len(fields))
	for n := range fields {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}
