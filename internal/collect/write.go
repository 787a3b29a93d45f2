package collect

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode"

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
// A file that cannot be stored (a name refused, a full disk) is noted in
// its Err and the manifest, and the others are still written; the error
// returned is the folder's own (not created, manifest not written).
func (b *Bundle) Write(root string) (string, error) {
	d, err := openFolder(root, b.Host)
	if err != nil {
		return b.Folder(root), err
	}
	for i := range b.Files {
		d.add(&b.Files[i])
	}
	return d.dir, d.close(b)
}

// Folder is where Write puts the bundle under root.
func (b *Bundle) Folder(root string) string {
	return filepath.Join(root, safeName(b.Host))
}

// folder is a host folder being written one file at a time, as they
// arrive; it keeps their manifest entries, not their data. Every path goes
// through an os.Root, so nothing it writes lands outside the folder.
type folder struct {
	dir     string
	root    *os.Root
	entries []manifestEntry
}

func openFolder(root, host string) (*folder, error) {
	dir := filepath.Join(root, safeName(host))
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, err
	}
	// Mkdir, not MkdirAll: an existing folder is refused, not reused.
	if err := os.Mkdir(dir, 0o700); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("%s already exists: collect into another --dir, or move it away", dir)
		}
		return nil, err
	}
	r, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	return &folder{dir: dir, root: r}, nil
}

// add writes f, when it holds data, and records it for the manifest. When
// it cannot be written, f.Err says why and its data is dropped.
func (d *folder) add(f *File) {
	if f.Skipped == "" && (f.Err == "" || len(f.Data) > 0) {
		if err := d.write(f.Name, f.Data); err != nil {
			msg := "not saved: " + err.Error()
			if f.Err != "" {
				msg += "; " + f.Err
			}
			f.Err, f.Data, f.Truncated = msg, nil, false
		}
	}
	d.entries = append(d.entries, manifestEntry{File: f.Name, From: f.How, Bytes: len(f.Data), Took: round(f.Elapsed),
		Skipped: f.Skipped, Error: f.Err, Truncated: f.Truncated, Redacted: f.Redacted})
}

func (d *folder) write(name string, data []byte) error {
	rel, err := fileName(name)
	if err != nil {
		return err
	}
	if dir := filepath.Dir(rel); dir != "." {
		if err := d.root.MkdirAll(dir, 0o700); err != nil {
			return err
		}
	}
	// O_EXCL: a host sending one name twice keeps its first copy
	fh, err := d.root.OpenFile(rel, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("a file or folder of that name is there already (sent twice?)")
	}
	if err != nil {
		return err
	}
	_, err = fh.Write(data)
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	return err
}

// close writes the role file and the manifest, and releases the folder.
func (d *folder) close(b *Bundle) error {
	defer d.root.Close()
	var errs []error
	if b.Role != "" {
		if err := d.root.WriteFile("role", []byte(b.Role+"\n"), 0o600); err != nil {
			errs = append(errs, err)
		}
	}
	m := manifest{Host: b.Host, Collected: time.Now().UTC().Format(time.RFC3339), Took: round(b.Elapsed), Error: b.Err, Files: d.entries}
	data, err := yaml.Marshal(m)
	if err == nil {
		if err = d.root.MkdirAll(filepath.Dir(filepath.FromSlash(ManifestPath)), 0o700); err == nil {
			err = d.root.WriteFile(filepath.FromSlash(ManifestPath), data, 0o600)
		}
	}
	if err != nil {
		errs = append(errs, fmt.Errorf("%s: manifest: %w", d.dir, err))
	}
	return errors.Join(errs...)
}

// maxFileName is PATH_MAX: no longer name can be a file's.
const maxFileName = 4096

// fileName checks a file name that came from a host (a remote script's
// frame, a mirrored config path) and returns it as a path relative to the
// host folder. It refuses what would not be a plain file down the folder
// (absolute, "..", empty parts), control characters (the name is shown
// on a terminal), and the names the folder keeps for lvsdoctor's own
// records: the .collect folder and the role file.
func fileName(name string) (string, error) {
	why := ""
	switch {
	case name == "":
		why = "it is empty"
	case len(name) > maxFileName:
		why = fmt.Sprintf("it is longer than %d bytes", maxFileName)
	case strings.HasPrefix(name, "/"):
		why = "it is absolute"
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		why = "it holds a control character"
	}
	for part := range strings.SplitSeq(name, "/") {
		if why != "" {
			break
		}
		switch part {
		case "..":
			why = "it climbs out of the host folder (..)"
		case "", ".":
			why = "it has an empty or . part"
		}
	}
	if first, _, _ := strings.Cut(name, "/"); why == "" && (first == ".collect" || first == "role") {
		why = "the host folder keeps that name for lvsdoctor's own records"
	}
	if why != "" {
		if len(name) > 200 {
			name = name[:200] + "…"
		}
		return "", fmt.Errorf("refused file name %q: %s", name, why)
	}
	return filepath.FromSlash(name), nil
}

// safeName makes a host name usable as a folder name, one diagnose reads:
// not a dot folder, which it skips.
func safeName(h string) string {
	h = strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || unicode.IsControl(r) {
			return '_'
		}
		return r
	}, h)
	if h == "" || h == "." || h == ".." {
		return "host"
	}
	if h[0] == '.' {
		h = "_" + h[1:]
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
	if b.Err != "" && len(b.Files) > 0 {
		// what arrived before the failure was kept, and diagnose reads it
		return fmt.Sprintf("%s: FAILED: %s (what arrived before is kept: %d files, %d skipped, %d failed)", b.Host, b.Err, n, skipped, failed)
	}
	if b.Err != "" {
		return fmt.Sprintf("%s: FAILED: %s", b.Host, b.Err)
	}
	return fmt.Sprintf("%s: %d files, %d skipped, %d failed, %s", b.Host, n, skipped, failed, b.Elapsed.Round(time.Millisecond))
}
