package collect

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// ManifestPath is where a host folder records how each file was obtained
// and what was not collected. It lives in a dot folder, which diagnose
// does not read as evidence.
const ManifestPath = ".collect/manifest.yaml"

type manifest struct {
	Host      string          `yaml:"host"`
	Collected string          `yaml:"collected"`
	Took      string          `yaml:"took"`
	Error     string          `yaml:"error,omitempty"`
	Files     []manifestEntry `yaml:"files"`
}

type manifestEntry struct {
	File      string `yaml:"file"`
	From      string `yaml:"from,omitempty"`
	Bytes     int    `yaml:"bytes,omitempty"`
	Took      string `yaml:"took,omitempty"`
	Skipped   string `yaml:"skipped,omitempty"`
	Error     string `yaml:"error,omitempty"`
	Truncated bool   `yaml:"truncated,omitempty"`
	Redacted  int    `yaml:"redacted,omitempty"`
}

// Write stores the bundle as root/HOST/: one file per collected item, the
// role file, and the manifest. It refuses to overwrite an existing host
// folder: evidence of an incident is not something to lose by accident.
func (b *Bundle) Write(root string) (string, error) {
	name := safeName(b.Host)
	dir := filepath.Join(root, name)
	if _, err := os.Stat(dir); err == nil {
		return dir, fmt.Errorf("%s already exists: collect into another --output, or move it away", dir)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return dir, err
	}
	var errs []error
	for _, f := range b.Files {
		if f.Skipped != "" || (f.Err != "" && len(f.Data) == 0) {
			continue
		}
		p, err := inside(dir, f.Name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := os.WriteFile(p, f.Data, 0o600); err != nil {
			errs = append(errs, err)
		}
	}
	if b.Role != "" {
		if err := os.WriteFile(filepath.Join(dir, "role"), []byte(b.Role+"\n"), 0o600); err != nil {
			errs = append(errs, err)
		}
	}
	m := manifest{Host: b.Host, Collected: time.Now().UTC().Format(time.RFC3339), Took: round(b.Elapsed), Error: b.Err}
	for _, f := range b.Files {
		m.Files = append(m.Files, manifestEntry{File: f.Name, From: f.How, Bytes: len(f.Data), Took: round(f.Elapsed),
			Skipped: f.Skipped, Error: f.Err, Truncated: f.Truncated, Redacted: f.Redacted})
	}
	data, err := yaml.Marshal(m)
	if err == nil {
		p := filepath.Join(dir, filepath.FromSlash(ManifestPath))
		if err = os.MkdirAll(filepath.Dir(p), 0o700); err == nil {
			err = os.WriteFile(p, data, 0o600)
		}
	}
	if err != nil {
		errs = append(errs, err)
	}
	return dir, errors.Join(errs...)
}

// inside joins a file name that came from a host (a remote script's
// output, a mirrored config path) to dir, refusing names that would
// escape it.
func inside(dir, name string) (string, error) {
	clean := filepath.Clean("/" + filepath.FromSlash(name))
	if clean == "/" || clean == "/.collect" || strings.HasPrefix(clean, "/.collect/") {
		return "", fmt.Errorf("bad file name %q", name)
	}
	return filepath.Join(dir, clean), nil
}

// safeName makes a host name usable as a folder name.
func safeName(h string) string {
	h = strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == 0 || r < ' ' {
			return '_'
		}
		return r
	}, h)
	if h == "" || h == "." || h == ".." {
		return "host"
	}
	return h
}

func round(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return d.Round(time.Millisecond).String()
}

// Summary is one line about the bundle, for a terminal.
func (b *Bundle) Summary() string {
	n, skipped, failed := 0, 0, 0
	for _, f := range b.Files {
		switch {
		case f.Skipped != "":
			skipped++
		case f.Err != "":
			failed++
		default:
			n++
		}
	}
	if b.Err != "" {
		return fmt.Sprintf("%s: FAILED: %s", b.Host, b.Err)
	}
	return fmt.Sprintf("%s: %d files, %d skipped, %d failed, %s", b.Host, n, skipped, failed, b.Elapsed.Round(time.Millisecond))
}
