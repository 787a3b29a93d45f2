// Package casedir reads the files of a case directory as untrusted input.
//
// A case comes from a ticket or from hosts that may be compromised, and it
// is read on the operator's machine with the operator's rights. Whatever it
// holds — a symlink to /etc, an include of ../../../etc/shadow, a FIFO, a
// device, a sparse file of gigabytes — must not make lvsdoctor read
// anything outside the case, wait forever, or allocate more than a bounded
// multiple of what it actually uses. Everything that reads a case opens its
// files through this package:
//
//   - a Folder is an os.Root: a path or symlink that resolves outside it
//     fails in the kernel-facing open, not in a check that could race;
//   - only regular files are opened, with O_NONBLOCK so that a FIFO swapped
//     in after the listing cannot block the open, and the type is checked
//     on the open file;
//   - every read has a byte limit, and a file over it is cut with an error
//     that says so.
package casedir

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"syscall"
)

// MaxFileBytes bounds one evidence file. A million-connection `ipvsadm
// -Lnc` is about 100 MB, the largest thing a person attaches; past a
// quarter of a GiB a file is no longer a command's output.
const MaxFileBytes int64 = 256 << 20

// ErrNotRegular is the error of a path that is not a regular file: a
// directory, FIFO, socket or device.
var ErrNotRegular = errors.New("not a regular file")

// ErrOutside is the error of a path, include or symlink that leads out of
// the folder it was looked up in.
var ErrOutside = errors.New("leads outside the case folder: not followed")

// TruncatedError says a file was longer than the limit it was read with;
// the data returned with it is the file's first Limit bytes.
type TruncatedError struct {
	Limit int64
}

func (e *TruncatedError) Error() string {
	return fmt.Sprintf("file larger than %s: only the first %s were read", Size(e.Limit), Size(e.Limit))
}

// Size words a byte count for a person.
func Size(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// Folder is a directory of a case, opened so that nothing outside it can
// be reached through it.
type Folder struct {
	root *os.Root
	// Path is the folder as the caller named it.
	Path string
}

// Open opens the directory at dir. The directory itself is the caller's
// (a path the user typed, or a host folder listed without following
// links); only what is under it is untrusted.
func Open(dir string) (*Folder, error) {
	r, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	return &Folder{root: r, Path: dir}, nil
}

// Sub opens the folder name inside f; a symlink is not followed.
func (f *Folder) Sub(name string) (*Folder, error) {
	st, err := f.root.Lstat(name)
	if err != nil {
		return nil, cleanErr(err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%s: %s", name, Describe(st.Mode()))
	}
	r, err := f.root.OpenRoot(name)
	if err != nil {
		return nil, cleanErr(err)
	}
	return &Folder{root: r, Path: path.Join(f.Path, name)}, nil
}

// Close releases the folder.
func (f *Folder) Close() error { return f.root.Close() }

// FS is the folder as an fs.FS confined to it, for listing and globbing.
func (f *Folder) FS() fs.FS { return f.root.FS() }

// Lstat describes name without following a final symlink.
func (f *Folder) Lstat(name string) (fs.FileInfo, error) {
	st, err := f.root.Lstat(name)
	return st, cleanErr(err)
}

// OpenFile opens name for reading when it is a regular file inside the
// folder (symlinks are followed only while they stay inside).
func (f *Folder) OpenFile(name string) (*os.File, fs.FileInfo, error) {
	fh, err := f.root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, cleanErr(err)
	}
	return checkRegular(fh)
}

// ReadFile reads name whole, up to limit bytes; see Read.
func (f *Folder) ReadFile(name string, limit int64, head func([]byte) bool) ([]byte, error) {
	fh, st, err := f.OpenFile(name)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	return Read(fh, st.Size(), limit, head)
}

// OpenRegular opens a single file the user named (a transcript, a
// capture given on the command line), refusing FIFOs and devices. Its own
// path may be a symlink: the user typed it.
func OpenRegular(name string) (*os.File, fs.FileInfo, error) {
	fh, err := os.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	return checkRegular(fh)
}

// OpenNoFollow opens a file of a case listed by its caller (whose folders
// were listed without following links): a symlink in its place is
// refused rather than followed, as are FIFOs and devices.
func OpenNoFollow(name string) (*os.File, fs.FileInfo, error) {
	fh, err := os.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOFOLLOW, 0)
	if errors.Is(err, syscall.ELOOP) {
		return nil, nil, fmt.Errorf("%s: symbolic link: not followed", name)
	}
	if err != nil {
		return nil, nil, err
	}
	return checkRegular(fh)
}

func checkRegular(fh *os.File) (*os.File, fs.FileInfo, error) {
	st, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, nil, err
	}
	if !st.Mode().IsRegular() {
		fh.Close()
		return nil, nil, fmt.Errorf("%s: %w", Describe(st.Mode()), ErrNotRegular)
	}
	return fh, st, nil
}

// headBytes is how much is read before head is asked whether to go on:
// enough for a binary check, so that a sparse file of gigabytes costs one
// small read.
const headBytes = 8192

// Read reads r up to limit bytes. size, the file's size when known, sizes
// the buffer once (a doubling buffer would allocate twice a 100 MB table)
// but never beyond what the limit allows. After the first few KiB, head
// (when not nil) is shown them; when it returns false only they are
// returned. A file longer than limit is cut there, with a *TruncatedError.
func Read(r io.Reader, size, limit int64, head func([]byte) bool) ([]byte, error) {
	first := make([]byte, min(headBytes, limit))
	n, err := io.ReadFull(r, first)
	first = first[:n]
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return first, nil
	}
	if err != nil {
		return first, err
	}
	if head != nil && !head(first) {
		return first, nil
	}
	var buf bytes.Buffer
	// One byte more than the limit tells a file of exactly limit bytes
	// from a longer one. ReadFrom wants bytes.MinRead free before each
	// read, the one that meets the end of the file too: with less room
	// left it doubles the buffer (a 100 MB file cost 300 MB).
	buf.Grow(int(min(max(size, int64(len(first))), limit) + bytes.MinRead))
	buf.Write(first)
	_, err = buf.ReadFrom(io.LimitReader(r, limit+1-int64(len(first))))
	data := buf.Bytes()
	if err != nil {
		return data, err
	}
	if int64(len(data)) > limit {
		return data[:limit], &TruncatedError{Limit: limit}
	}
	return data, nil
}

// Describe names what kind of file a mode is, for messages.
func Describe(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "symbolic link"
	case m.IsDir():
		return "directory"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeCharDevice != 0:
		return "character device"
	case m&fs.ModeDevice != 0:
		return "block device"
	case m.IsRegular():
		return "regular file"
	}
	return "special file"
}

// cleanErr words os.Root's refusal for a person and keeps the operator's
// own paths out of the message (the case's names are enough).
func cleanErr(err error) error {
	if err == nil {
		return nil
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		if strings.Contains(pe.Err.Error(), "escapes") {
			return fmt.Errorf("%s %w", pe.Path, ErrOutside)
		}
		if errors.Is(pe.Err, syscall.ELOOP) {
			return fmt.Errorf("%s: too many levels of symbolic links", pe.Path)
		}
		return fmt.Errorf("%s: %w", pe.Path, pe.Err)
	}
	return err
}
