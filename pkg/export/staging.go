package export

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// tmpMarker separates a staged file's final name from its tag in its temporary name:
// ".appointments.csv.tmp-r12a1".
const tmpMarker = ".tmp-"

// Staging holds the files of one export (or one job run) under temporary names in their final
// folder until Publish renames them all into place. A reader of the folder never sees a partial
// file: a temporary name starts with a dot and ends with .tmp-TAG, and the rename is atomic. A
// process killed before Publish leaves only temporary files, which RemoveStaged clears.
type Staging struct {
	dir   string
	tag   string
	files []*StagedFile
}

// NewStaging prepares staging into dir (created if missing) under tag, which names this attempt
// in the temporary names (letters, digits, '-' and '_').
func NewStaging(dir, tag string) (*Staging, error) {
	if tag == "" || strings.ContainsAny(tag, "/\\.") {
		return nil, fmt.Errorf("invalid staging tag %q", tag)
	}
	// Published files are meant to be collected: readable by the folder's group, not by others.
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("couldn't create the output folder: %w", err)
	}
	return &Staging{dir: dir, tag: tag}, nil
}

// Dir is the folder the files are published into.
func (s *Staging) Dir() string { return s.dir }

// StagedFile is a file being written under its temporary name. It counts its bytes and hashes
// them as they are written.
type StagedFile struct {
	name   string
	tmp    string
	f      *os.File
	hash   hash.Hash
	bytes  int64
	closed bool
}

// Create starts a file that Publish will name name.
func (s *Staging) Create(name string) (*StagedFile, error) {
	if name == "" || name != filepath.Base(name) || strings.HasPrefix(name, ".") {
		return nil, fmt.Errorf("invalid file name %q", name)
	}
	tmp := filepath.Join(s.dir, "."+name+tmpMarker+s.tag)
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o640) //nolint:gosec // G302: the folder's group collects the files (PII is anonymized or dropped unless kept on purpose)
	if err != nil {
		return nil, fmt.Errorf("couldn't create %s: %w", tmp, err)
	}
	sf := &StagedFile{name: name, tmp: tmp, f: f, hash: sha256.New()}
	s.files = append(s.files, sf)
	return sf, nil
}

// Write writes to the temporary file.
func (f *StagedFile) Write(p []byte) (int, error) {
	n, err := f.f.Write(p)
	f.hash.Write(p[:n])
	f.bytes += int64(n)
	if err != nil {
		return n, fmt.Errorf("couldn't write %s: %w", f.tmp, err)
	}
	return n, nil
}

// Close flushes the file to disk (fsync) and closes it; the data is durable before Publish
// makes it visible.
func (f *StagedFile) Close() error {
	if f.closed {
		return nil
	}
	f.closed = true
	if err := f.f.Sync(); err != nil {
		_ = f.f.Close()
		return fmt.Errorf("couldn't flush %s to disk: %w", f.tmp, err)
	}
	if err := f.f.Close(); err != nil {
		return fmt.Errorf("couldn't close %s: %w", f.tmp, err)
	}
	return nil
}

// Name is the name the file will be published under.
func (f *StagedFile) Name() string { return f.name }

// SetName changes the name the file will be published under.
func (f *StagedFile) SetName(name string) { f.name = name }

// Bytes is the size written so far.
func (f *StagedFile) Bytes() int64 { return f.bytes }

// SHA256 is the hex SHA-256 of what was written.
func (f *StagedFile) SHA256() string { return hex.EncodeToString(f.hash.Sum(nil)) }

// Names lists the names the staged files will be published under.
func (s *Staging) Names() []string {
	names := make([]string, len(s.files))
	for i, f := range s.files {
		names[i] = f.name
	}
	return names
}

// Files closes the staged files and describes them (name, size, SHA-256; rows are the
// writer's to tell).
func (s *Staging) Files() ([]FileInfo, error) {
	out := make([]FileInfo, 0, len(s.files))
	for _, f := range s.files {
		if err := f.Close(); err != nil {
			return nil, err
		}
		out = append(out, FileInfo{Name: f.name, Bytes: f.bytes, SHA256: f.SHA256()})
	}
	return out, nil
}

// Publish closes the files still open, renames each into place (replacing a file of the same
// name, as a retried run does) and flushes the folder, then returns the published paths.
func (s *Staging) Publish() ([]string, error) {
	seen := map[string]bool{}
	for _, f := range s.files {
		if seen[f.name] {
			return nil, fmt.Errorf("two staged files are named %s", f.name)
		}
		seen[f.name] = true
		if err := f.Close(); err != nil {
			return nil, err
		}
	}
	var paths []string
	for _, f := range s.files {
		final := filepath.Join(s.dir, f.name)
		if err := os.Rename(f.tmp, final); err != nil {
			return paths, fmt.Errorf("couldn't publish %s: %w", final, err)
		}
		paths = append(paths, final)
	}
	s.files = nil
	return paths, SyncDir(s.dir)
}

// Discard closes and removes the temporary files.
func (s *Staging) Discard() error {
	var errs []error
	for _, f := range s.files {
		if !f.closed {
			f.closed = true
			_ = f.f.Close()
		}
		if err := os.Remove(f.tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	s.files = nil
	return errors.Join(errs...)
}

// SyncDir flushes a folder's entries (created and renamed files) to disk.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("couldn't open %s to flush it: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("couldn't flush %s to disk: %w", dir, err)
	}
	return nil
}

// RemoveStaged removes the temporary files left in dir by attempts whose tag starts with
// tagPrefix (a run killed before it published), and returns how many it removed.
func RemoveStaged(dir, tagPrefix string) (int, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range entries {
		if IsStaged(e.Name()) && strings.HasPrefix(e.Name()[strings.LastIndex(e.Name(), tmpMarker)+len(tmpMarker):], tagPrefix) {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return n, err
			}
			n++
		}
	}
	return n, nil
}

// IsStaged reports whether a file name is a staged (temporary) one.
func IsStaged(name string) bool {
	return strings.HasPrefix(name, ".") && strings.Contains(name, tmpMarker)
}
