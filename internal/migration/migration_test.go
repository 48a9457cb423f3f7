package migration

import (
	"testing"
	"testing/fstest"
)

func TestLoad(t *testing.T) {
	good := fstest.MapFS{
		"m/0002_b.sql": {Data: []byte("B")},
		"m/0001_a.sql": {Data: []byte("A")},
	}
	ms, err := Load(good, "m")
	if err != nil || len(ms) != 2 || ms[0].SQL != "A" || ms[1].Name != "0002_b.sql" || Latest(ms) != 2 {
		t.Fatalf("Load: %+v %v", ms, err)
	}
	for name, fsys := range map[string]fstest.MapFS{
		"gap":      {"m/0001_a.sql": {}, "m/0003_c.sql": {}},
		"bad name": {"m/first.sql": {}},
		"not sql":  {"m/0001_a.txt": {}},
		"twice":    {"m/0001_a.sql": {}, "m/0001_b.sql": {}},
	} {
		if _, err := Load(fsys, "m"); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
}
