package intake

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/casedir"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/redact"
)

// Budgets of a host folder's reads. A case is untrusted: each bound keeps
// what it can cost a small multiple of what a real cluster's evidence is.
const (
	// maxConfBytes bounds one included configuration file; a keepalived
	// configuration of a thousand real servers is a few hundred KiB.
	maxConfBytes = 16 << 20
	// maxIncludeBytes bounds all included files of one host together, so
	// that forty includes of one big file cost no more than one.
	maxIncludeBytes = 64 << 20
)

// hostFolder is one host's folder of a case, read through a casedir.Folder
// so that nothing outside it is reached, with the bookkeeping of which
// files were read.
type hostFolder struct {
	c        *evidence.Case
	host     string
	root     string // the case directory
	dir      *casedir.Folder
	files    []string // paths of its files, in the order they are read
	consumed map[string]bool
	include  func(string) ([]evidence.Doc, error)
	// includeLeft is what maxIncludeBytes leaves for further includes.
	includeLeft *int64
}

// rel is p (a path listed in files) inside the host folder.
func (hf hostFolder) rel(p string) string {
	r, err := filepath.Rel(hf.dir.Path, p)
	if err != nil {
		return p
	}
	return filepath.ToSlash(r)
}

// read reads a file of the folder, up to limit bytes, stopping after the
// first KiBs when they are not text.
func (hf hostFolder) read(p string, limit int64) ([]byte, error) {
	return hf.dir.ReadFile(hf.rel(p), limit, isText)
}

// head returns a file's first n bytes (fewer when it is shorter).
func (hf hostFolder) head(p string, n int) []byte {
	f, _, err := hf.dir.OpenFile(hf.rel(p))
	if err != nil {
		return nil
	}
	defer f.Close()
	b := make([]byte, n)
	k, _ := io.ReadFull(f, b)
	return b[:k]
}

func isText(head []byte) bool {
	bad, _ := looksBinary(head)
	return !bad
}

// list walks the folder without following links. Whatever is not read
// is said, so that a user knows which evidence was left out and why.
func (hf *hostFolder) list() {
	_ = fs.WalkDir(hf.dir.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			hf.problem(path.Join(hf.host, p), err.Error())
			return nil
		}
		if d.IsDir() {
			if p != "." && strings.HasPrefix(d.Name(), ".") {
				if d.Name() != ".collect" { // collect's own manifest, not evidence
					hf.problem(path.Join(hf.host, p), "hidden folder: not read (evidence folders and files must not start with '.')")
				}
				return fs.SkipDir
			}
			return nil
		}
		if strings.HasPrefix(d.Name(), ".") {
			hf.problem(path.Join(hf.host, p), "hidden file: not read (evidence files must not start with '.')")
			return nil
		}
		if !d.Type().IsRegular() {
			why := casedir.Describe(d.Type())
			if d.Type()&fs.ModeSymlink != 0 {
				why += ": not followed (a case is read only from the files it holds; copy the file in instead)"
			} else {
				why += ": not read, only regular files are evidence"
			}
			hf.problem(path.Join(hf.host, p), why)
			return nil
		}
		hf.files = append(hf.files, filepath.Join(hf.dir.Path, filepath.FromSlash(p)))
		return nil
	})
	// keepalived.conf first: files it includes are read through it and
	// must not be read a second time on their own.
	sort.SliceStable(hf.files, func(i, j int) bool {
		ki, kj := filepath.Base(hf.files[i]) == "keepalived.conf", filepath.Base(hf.files[j]) == "keepalived.conf"
		if ki != kj {
			return ki
		}
		return hf.files[i] < hf.files[j]
	})
}

func (hf hostFolder) problem(source, msg string) {
	hf.c.Problems = append(hf.c.Problems, evidence.Problem{Host: hf.host, Source: source, Message: msg})
}

// includer resolves keepalived include patterns inside the host folder:
// the path the include names on the host (/etc/keepalived/conf.d/*.conf)
// is looked up by its trailing components under the folder. A pattern
// never leaves the folder: `..` cannot climb above it (the pattern is
// cleaned as the absolute path it names on the host), and a symlink that
// leads out is refused by the folder itself.
func (hf hostFolder) includer() func(string) ([]evidence.Doc, error) {
	var self func(string) ([]evidence.Doc, error)
	self = func(pattern string) ([]evidence.Doc, error) {
		pattern = strings.TrimSpace(pattern)
		if pattern == "" {
			return nil, errors.New("empty include")
		}
		clean := path.Clean("/" + filepath.ToSlash(pattern))
		if clean == "/" {
			return nil, fmt.Errorf("include %q names no file", pattern)
		}
		parts := strings.Split(strings.TrimPrefix(clean, "/"), "/")
		var matches []string
		// Try the longest suffix of the path first: conf.d/*.conf before *.conf.
		for i := 0; i < len(parts) && len(matches) == 0; i++ {
			m, err := fs.Glob(hf.dir.FS(), strings.Join(parts[i:], "/"))
			if err != nil {
				return nil, fmt.Errorf("include %q: %v", pattern, err)
			}
			matches = m
		}
		if len(matches) == 0 {
			if why := hf.linkOut(parts); why != "" {
				return nil, fmt.Errorf("include %q: %s", pattern, why)
			}
			return nil, fmt.Errorf("include %q: no such file in %s", pattern, hf.host)
		}
		glob := strings.ContainsAny(clean, `*?[\`)
		var docs []evidence.Doc
		for _, m := range matches {
			if glob {
				// keepalived includes the files a glob matches; the folders
				// it matches are not configuration.
				if st, err := hf.dir.Lstat(m); err == nil && st.IsDir() {
					continue
				}
			}
			limit := min(int64(maxConfBytes), *hf.includeLeft)
			if limit <= 0 {
				return docs, fmt.Errorf("included files of %s exceed %s together: %s and the rest were not read", hf.host, casedir.Size(maxIncludeBytes), m)
			}
			data, err := hf.dir.ReadFile(m, limit, isText)
			*hf.includeLeft -= int64(len(data))
			if err != nil {
				return docs, err
			}
			if bad, why := looksBinary(data); bad {
				return docs, fmt.Errorf("%s: %s, not a configuration file", m, why)
			}
			full := filepath.Join(hf.dir.Path, filepath.FromSlash(m))
			hf.consumed[full] = true
			data, _ = redact.Bytes(data)
			docs = append(docs, evidence.Doc{Host: hf.host, Source: relTo(hf.root, full), Start: 1, Text: string(data), Include: self})
		}
		return docs, nil
	}
	return self
}

// linkOut explains an include that matched nothing because one of the
// folders it goes through is a symlink out of the host folder.
func (hf hostFolder) linkOut(parts []string) string {
	for i := range parts {
		for j := i + 1; j <= len(parts); j++ {
			p := strings.Join(parts[i:j], "/")
			st, err := hf.dir.Lstat(p)
			if err != nil {
				break
			}
			if st.Mode()&fs.ModeSymlink == 0 {
				continue
			}
			if _, _, err := hf.dir.OpenFile(p); errors.Is(err, casedir.ErrOutside) {
				return p + " is a symbolic link out of the host folder: not followed"
			}
		}
	}
	return ""
}
