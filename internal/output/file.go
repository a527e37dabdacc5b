package output

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// CheckWritable makes sure a file can be written at path before any work
// is done for it: path is not a folder, and a file can be created beside
// it. "-" (standard output) and existing devices or pipes always can.
func CheckWritable(path string) error {
	if path == "-" {
		return nil
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return fmt.Errorf("cannot write %s: it is a folder", path)
	}
	if special(path) {
		return nil
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return FileError(path, err)
	}
	f.Close()
	return os.Remove(f.Name())
}

// WriteFile writes data to path as Create does, in one go.
func WriteFile(path string, data []byte) error {
	w, commit, err := Create(nil, path)
	if err != nil {
		return err
	}
	_, err = w.Write(data)
	return commit(err)
}

// Create opens where a command writes its output: stdout for "" and "-";
// an existing device or pipe (/dev/null) in place, never replaced; else a
// temporary file beside path, which commit renames over path when the
// command succeeded (err nil), so that path is never left half written,
// and removes otherwise. commit returns err, or the error that closing or
// renaming met, naming path (not the temporary file).
func Create(stdout io.Writer, path string) (w io.Writer, commit func(err error) error, err error) {
	if path == "" || path == "-" {
		return stdout, func(err error) error { return err }, nil
	}
	if special(path) {
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return nil, nil, FileError(path, err)
		}
		return f, func(err error) error {
			if cerr := f.Close(); err == nil {
				err = FileError(path, cerr)
			}
			return err
		}, nil
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return nil, nil, FileError(path, err)
	}
	return f, func(err error) error {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
			return err
		}
		err = f.Close()
		if err == nil {
			err = os.Chmod(f.Name(), 0o644)
		}
		if err == nil {
			err = os.Rename(f.Name(), path)
		}
		if err != nil {
			os.Remove(f.Name())
		}
		return FileError(path, err)
	}, nil
}

// FileError names the user's output file in an error writing it (not a
// temporary file beside it); nil stays nil.
func FileError(path string, err error) error {
	if err == nil {
		return nil
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("cannot write %s: folder %s does not exist", path, filepath.Dir(path))
	}
	return fmt.Errorf("cannot write %s: %w", path, err)
}

// special reports whether path exists and is neither a regular file nor a
// folder (a device, a pipe).
func special(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.Mode().IsRegular() && !fi.IsDir()
}
