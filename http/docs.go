package http

import (
	"bytes"
	"html/template"
	"io/fs"
	"net/http"
	"sort"
	"strings"
	"sync"

	"github.com/tillpay/till"
	"github.com/tillpay/till/docs"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/renderer/html"
)

// docPages renders the embedded Markdown documentation to HTML once.
var docPages = sync.OnceValues(func() (map[string][]byte, error) {
	md := goldmark.New(
		goldmark.WithExtensions(extension.GFM),
		goldmark.WithParserOptions(parser.WithAutoHeadingID()),
		// The documents are Till's own; their inline anchors (error codes)
		// must survive.
		goldmark.WithRendererOptions(html.WithUnsafe()),
	)
	var names []string
	err := fs.WalkDir(docs.Files, ".", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".md") {
			names = append(names, strings.TrimSuffix(path, ".md"))
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	pages := map[string][]byte{}
	for _, name := range names {
		src, err := docs.Files.ReadFile(name + ".md")
		if err != nil {
			return nil, err
		}
		// Links between documents point at the served pages.
		src = bytes.ReplaceAll(src, []byte(".md)"), []byte(")"))
		src = bytes.ReplaceAll(src, []byte(".md#"), []byte("#"))
		var body bytes.Buffer
		if err := md.Convert(src, &body); err != nil {
			return nil, err
		}
		var page bytes.Buffer
		if err := docTemplate.Execute(&page, map[string]any{"Name": name, "Names": names, "Body": template.HTML(body.String())}); err != nil {
			return nil, err
		}
		pages[name] = page.Bytes()
	}
	return pages, nil
})

var docTemplate = template.Must(template.New("doc").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Till — {{.Name}}</title>
<style>body{font:16px/1.55 system-ui,sans-serif;max-width:72rem;margin:0 auto;padding:1rem 1.5rem;color:#1f2328}
nav a{margin-right:1rem}table{border-collapse:collapse}td,th{border:1px solid #d0d7de;padding:.3rem .6rem;vertical-align:top}
code,pre{background:#f6f8fa;font-size:.9em}pre{padding:.8rem;overflow:auto}:target{background:#fff8c5}</style></head>
<body><nav>{{range .Names}}<a href="/docs/{{.}}">{{.}}</a>{{end}}<a href="/openapi.json">openapi.json</a></nav>
<main>{{.Body}}</main></body></html>`))

// docsPage serves /docs (the API guide) and /docs/{name}.
func (s *Server) docsPage(w http.ResponseWriter, r *http.Request) {
	pages, err := docPages()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	name := r.PathValue("name")
	if dir := r.PathValue("dir"); dir != "" {
		name = dir + "/" + name
	}
	if name == "" {
		name = "api"
	}
	if strings.HasSuffix(name, ".png") {
		img, err := docs.Files.ReadFile(name)
		if err != nil {
			s.fail(w, r, till.Errorf(till.ENotFound, "No such image: %q.", name))
			return
		}
		w.Header().Set("Content-Type", "image/png")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Write(img)
		return
	}
	page, ok := pages[name]
	if !ok {
		s.fail(w, r, till.Errorf(till.ENotFound, "No such document: %q.", name))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	w.Write(page)
}
