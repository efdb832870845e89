package httpapi

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"
	"gopkg.in/yaml.v3"
)

// The API's description (CONTRACT 8): OpenAPI 3.1, written by hand in
// openapi.yaml, served as JSON at /api/v1/openapi.json and as a page at
// /api/docs. It is public, like the contract it restates: it discloses no
// data, and an integrator reads it before holding a token. The API's tests
// check every answer they get against it (openapi_test.go), so it cannot
// drift from what the server does.

//go:embed openapi.yaml
var openapiYAML []byte

var (
	specOnce sync.Once
	specDoc  map[string]any
	specJSON []byte
	specErr  error
)

// OpenAPI returns the description as JSON; the embedded YAML is checked by
// the tests, so a failure here is a build mistake and panics.
func OpenAPI() []byte {
	loadSpec()
	if specErr != nil {
		panic(specErr)
	}
	return specJSON
}

func loadSpec() {
	specOnce.Do(func() {
		if err := yaml.Unmarshal(openapiYAML, &specDoc); err != nil {
			specErr = fmt.Errorf("openapi.yaml: %w", err)
			return
		}
		specJSON, specErr = json.Marshal(specDoc)
	})
}

// handleOpenAPI serves the description. It may be cached for a while: it
// changes only with the server's version.
func handleOpenAPI() echo.HandlerFunc {
	return func(c echo.Context) error {
		if _, err := queryParams(c, nil); err != nil {
			return err
		}
		c.Response().Header().Set(echo.HeaderCacheControl, "public, max-age=300")
		return c.JSONBlob(http.StatusOK, OpenAPI())
	}
}

// docsOperation is one operation as the docs page lists it.
type docsOperation struct {
	Method, Path, Summary, Description, ID string
	Public                                 bool
	Parameters                             []docsParam
	Body                                   []docsField
	BodyType                               string
	Responses                              []docsResponse
}

type docsParam struct{ Name, In, Type, Description string }
type docsField struct{ Name, Type, Note string }
type docsResponse struct{ Status, Description, Type string }

type docsTag struct {
	Name, Description string
	Operations        []docsOperation
}

// handleAPIDocs renders the description as one HTML page, on the server:
// no script, so it works under the API's Content-Security-Policy (which
// allows none), needs no viewer from elsewhere, and reads well in a screen
// reader and on a phone.
func handleAPIDocs() echo.HandlerFunc {
	var (
		once sync.Once
		page []byte
		err  error
	)
	return func(c echo.Context) error {
		if _, err := queryParams(c, nil); err != nil {
			return err
		}
		once.Do(func() { page, err = renderDocs() })
		if err != nil {
			return err
		}
		c.Response().Header().Set(echo.HeaderCacheControl, "public, max-age=300")
		return c.HTMLBlob(http.StatusOK, page)
	}
}

var docsTemplate = template.Must(template.New("docs").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}: API reference</title>
<link rel="stylesheet" href="/static/app.css">
</head>
<body>
<a class="skip-link" href="#main">Skip to content</a>
<header class="site-header"><p class="brand">mla-flow</p></header>
<main id="main" class="api-docs">
<h1>{{.Title}}: API reference</h1>
<p>{{.Description}}</p>
<p>The same description as OpenAPI 3.1: <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>.</p>
<nav aria-labelledby="toc-heading"><h2 id="toc-heading">Contents</h2>
<ul>{{range .Tags}}<li><a href="#tag-{{.Name}}">{{.Name}}</a> ({{len .Operations}})</li>{{end}}</ul>
</nav>
{{range .Tags}}
<section aria-labelledby="tag-{{.Name}}">
<h2 id="tag-{{.Name}}">{{.Name}}</h2>
{{if .Description}}<p>{{.Description}}</p>{{end}}
{{range .Operations}}
<article class="api-op" aria-labelledby="op-{{.ID}}">
<h3 id="op-{{.ID}}"><code>{{.Method}} {{.Path}}</code></h3>
<p>{{.Summary}}{{if .Public}} <strong>(no token needed)</strong>{{end}}</p>
{{if .Description}}<p>{{.Description}}</p>{{end}}
{{if .Parameters}}<div class="table-wrap"><table>
<caption>Parameters of {{.Method}} {{.Path}}</caption>
<thead><tr><th scope="col">name</th><th scope="col">in</th><th scope="col">type</th><th scope="col">about</th></tr></thead>
<tbody>{{range .Parameters}}<tr><td><code>{{.Name}}</code></td><td>{{.In}}</td><td>{{.Type}}</td><td>{{.Description}}</td></tr>{{end}}</tbody>
</table></div>{{end}}
{{if .BodyType}}<p>Body: <code>{{.BodyType}}</code></p>{{end}}
{{if .Body}}<div class="table-wrap"><table>
<caption>Body of {{.Method}} {{.Path}}</caption>
<thead><tr><th scope="col">field</th><th scope="col">type</th><th scope="col">note</th></tr></thead>
<tbody>{{range .Body}}<tr><td><code>{{.Name}}</code></td><td>{{.Type}}</td><td>{{.Note}}</td></tr>{{end}}</tbody>
</table></div>{{end}}
<h4>Answers</h4>
<dl class="api-answers">{{range .Responses}}<dt>{{.Status}}{{if .Type}} <code>{{.Type}}</code>{{end}}</dt><dd>{{.Description}}</dd>{{end}}</dl>
</article>
{{end}}
</section>
{{end}}
</main>
</body>
</html>
`))

// renderDocs turns the description into the docs page.
func renderDocs() ([]byte, error) {
	loadSpec()
	if specErr != nil {
		return nil, specErr
	}
	doc := specDoc
	info, _ := doc["info"].(map[string]any)
	data := struct {
		Title, Description string
		Tags               []docsTag
	}{Title: str(info["title"]), Description: str(info["description"])}
	tagIndex := map[string]int{}
	for _, t := range list(doc["tags"]) {
		tm, _ := t.(map[string]any)
		tagIndex[str(tm["name"])] = len(data.Tags)
		data.Tags = append(data.Tags, docsTag{Name: str(tm["name"]), Description: str(tm["description"])})
	}
	paths, _ := doc["paths"].(map[string]any)
	for _, p := range sortedKeys(paths) {
		item, _ := paths[p].(map[string]any)
		shared := list(item["parameters"])
		for _, m := range []string{"get", "post", "patch", "put", "delete"} {
			op, ok := item[m].(map[string]any)
			if !ok {
				continue
			}
			o := docsOperation{Method: strings.ToUpper(m), Path: p, Summary: str(op["summary"]),
				Description: str(op["description"]), ID: str(op["operationId"])}
			if sec, ok := op["security"].([]any); ok && len(sec) == 0 {
				o.Public = true
			}
			for _, prm := range append(slices.Clone(shared), list(op["parameters"])...) {
				pm := resolve(doc, prm)
				o.Parameters = append(o.Parameters, docsParam{Name: str(pm["name"]), In: str(pm["in"]),
					Type: typeName(doc, pm["schema"]), Description: str(pm["description"])})
			}
			if rb := resolve(doc, op["requestBody"]); rb != nil {
				content, _ := rb["content"].(map[string]any)
				for _, ct := range sortedKeys(content) {
					o.BodyType = ct
					mt, _ := content[ct].(map[string]any)
					o.Body = fields(doc, mt["schema"])
				}
			}
			responses, _ := op["responses"].(map[string]any)
			for _, st := range sortedKeys(responses) {
				r := resolve(doc, responses[st])
				content, _ := r["content"].(map[string]any)
				o.Responses = append(o.Responses, docsResponse{Status: st, Description: str(r["description"]),
					Type: strings.Join(sortedKeys(content), ", ")})
			}
			tags := list(op["tags"])
			i, ok := 0, false
			if len(tags) > 0 {
				i, ok = tagIndex[str(tags[0])]
			}
			if !ok {
				continue
			}
			data.Tags[i].Operations = append(data.Tags[i].Operations, o)
		}
	}
	var b strings.Builder
	if err := docsTemplate.Execute(&b, data); err != nil {
		return nil, err
	}
	return []byte(b.String()), nil
}

// fields lists the properties of an object schema (through $ref and
// allOf), for the body table.
func fields(doc map[string]any, schema any) []docsField {
	s := resolve(doc, schema)
	var out []docsField
	for _, part := range list(s["allOf"]) {
		out = append(out, fields(doc, part)...)
	}
	props, _ := s["properties"].(map[string]any)
	required := map[string]bool{}
	for _, r := range list(s["required"]) {
		required[str(r)] = true
	}
	for _, name := range sortedKeys(props) {
		p := resolve(doc, props[name])
		note := str(p["description"])
		if required[name] {
			note = strings.TrimSpace("required. " + note)
		}
		out = append(out, docsField{Name: name, Type: typeName(doc, props[name]), Note: note})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return slices.CompactFunc(out, func(a, b docsField) bool { return a.Name == b.Name && a.Type == b.Type })
}

// typeName says a schema's type in a few words.
func typeName(doc map[string]any, schema any) string {
	sm, _ := schema.(map[string]any)
	if ref := str(sm["$ref"]); ref != "" {
		return ref[strings.LastIndex(ref, "/")+1:]
	}
	var t string
	switch v := sm["type"].(type) {
	case string:
		t = v
	case []any:
		parts := make([]string, len(v))
		for i, x := range v {
			parts[i] = str(x)
		}
		t = strings.Join(parts, " or ")
	}
	if t == "array" {
		t = "array of " + typeName(doc, sm["items"])
	}
	if e := list(sm["enum"]); len(e) > 0 {
		parts := make([]string, 0, len(e))
		for _, x := range e {
			if x != nil {
				parts = append(parts, str(x))
			}
		}
		t += ": " + strings.Join(parts, ", ")
	}
	if alts := list(sm["oneOf"]); len(alts) > 0 {
		parts := make([]string, len(alts))
		for i, a := range alts {
			parts[i] = typeName(doc, a)
		}
		t = strings.Join(parts, " or ")
	}
	return t
}

// resolve follows a local $ref.
func resolve(doc map[string]any, v any) map[string]any {
	m, _ := v.(map[string]any)
	for range 8 {
		ref := str(m["$ref"])
		if !strings.HasPrefix(ref, "#/") {
			return m
		}
		var cur any = doc
		for _, part := range strings.Split(ref[2:], "/") {
			cm, _ := cur.(map[string]any)
			cur = cm[part]
		}
		m, _ = cur.(map[string]any)
	}
	return m
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
