package main

import (
	"os"
	"strings"
	"testing"

	"github.com/runnel-dev/runnel/kernel/config"
)

// TestReadmeListsEveryProperty keeps the README's configuration table in
// step with the properties the broker accepts.
func TestReadmeListsEveryProperty(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range config.Properties() {
		if !strings.Contains(string(readme), "| `"+p.Name+"` |") {
			t.Errorf("README.md's configuration table lacks %s", p.Name)
		}
	}
	for _, name := range config.TopicConfigNames() {
		if !strings.Contains(string(readme), "`"+name+"`") {
			t.Errorf("README.md does not mention topic config %s", name)
		}
	}
}
