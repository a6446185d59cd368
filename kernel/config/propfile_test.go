package config

import (
	"reflect"
	"strings"
	"testing"
)

func TestReadProperties(t *testing.T) {
	in := "# comment\n" +
		"   ! another comment\n" +
		"\n" +
		"a=1\n" +
		"b : 2\n" +
		"c   3\n" +
		"  d\t=\t 4  \r\n" +
		"e = one, \\\n" +
		"    two, \\\n" +
		"    three\n" +
		"f\\=g\\:h = x\\=y\n" +
		"empty=\n" +
		"bare\n" +
		"slash = C:\\\\dir\\\\\n" +
		"uni = caf\\u00e9\\tend\n" +
		"hash = value # not a comment\n" +
		"# comment ending in backslash does not continue \\\n" +
		"last = tail \\"
	want := []propEntry{
		{"a", "1", 4},
		{"b", "2", 5},
		{"c", "3", 6},
		{"d", "4", 7},
		{"e", "one, two, three", 8},
		{"f=g:h", "x=y", 11},
		{"empty", "", 12},
		{"bare", "", 13},
		{"slash", `C:\dir\`, 14},
		{"uni", "café\tend", 15},
		{"hash", "value # not a comment", 16},
		{"last", "tail", 18},
	}
	got, err := readProperties(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("readProperties:\n got %+v\nwant %+v", got, want)
	}
}

func TestReadPropertiesBadEscape(t *testing.T) {
	_, err := readProperties(strings.NewReader("a=1\nb=\\u12zz\n"))
	if err == nil || !strings.Contains(err.Error(), "line 2: malformed \\u escape") {
		t.Errorf("err = %v, want a line 2 escape error", err)
	}
}
