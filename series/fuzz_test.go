package series

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzCacheEntry feeds arbitrary bytes to the cache's reader: it returns
// an entry or an error, never panics.
func FuzzCacheEntry(f *testing.F) {
	f.Add([]byte(`{"version":1,"path":"/x","layout_option":"","filter":"","fingerprint":"f","info":{"step":3,"has_step":true},"rows":[{"param":"w","state":"fp32","numel":4,"l2":"NaN","rms":1}],"delta":{"prev_path":"/p","prev_fingerprint":"g","params":{"w":[1,"NaN",0.5]}}}`))
	f.Add([]byte(`{"version":1,"path":"/x","fingerprint":"f","rows":[{"state":"bogus","numel":-1}]}`))
	f.Add([]byte(`{`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c := &cache{dir: t.TempDir()}
		if err := os.WriteFile(c.file("/x"), b, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := c.loadMeta("/x", "f"); err != nil {
			return
		}
		e, err := c.loadFull("/x", "f")
		if err == nil && e != nil {
			e.rows(1)
			e.deltas()
		}
	})
}

func TestCacheEntryRejects(t *testing.T) {
	c := &cache{dir: t.TempDir()}
	for _, b := range []string{`{`, `{"version":1,"path":"/x","fingerprint":"f","rows":[{"state":"bogus"}]}`} {
		if err := os.WriteFile(filepath.Join(c.dir, filepath.Base(c.file("/x"))), []byte(b), 0o644); err != nil {
			t.Fatal(err)
		}
		e, err := c.loadFull("/x", "f")
		if err == nil {
			t.Errorf("%s: entry %+v, no error", b, e)
		}
	}
	// Another fingerprint: stale, not an error.
	if e, err := c.loadFull("/x", "other"); e != nil || err != nil {
		t.Errorf("stale entry: %v, %v", e, err)
	}
}
