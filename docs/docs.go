// Package docs embeds Till's human documentation (the Markdown files in this
// folder) so that the server can serve it at /docs and doc_url links resolve.
package docs

import "embed"

// Files holds every *.md of the docs folder (and of its dialects folder)
// and the images they show.
//
//go:embed *.md *.png dialects/*.md
var Files embed.FS
