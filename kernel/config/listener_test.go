package config

import (
	"reflect"
	"testing"
)

func TestParseListeners(t *testing.T) {
	tests := []struct {
		in   string
		want []Listener
	}{
		{"PLAINTEXT://127.0.0.1:9092", []Listener{{"PLAINTEXT", "127.0.0.1", 9092}}},
		{"PLAINTEXT://:9092", []Listener{{"PLAINTEXT", "", 9092}}},
		{"PLAINTEXT://0.0.0.0:0", []Listener{{"PLAINTEXT", "0.0.0.0", 0}}},
		{"PLAINTEXT://[::1]:9092", []Listener{{"PLAINTEXT", "::1", 9092}}},
		{"PLAINTEXT://[::]:9092", []Listener{{"PLAINTEXT", "::", 9092}}},
		{"internal://host-a:1, EXTERNAL://host.example.com:65535",
			[]Listener{{"INTERNAL", "host-a", 1}, {"EXTERNAL", "host.example.com", 65535}}},
		{"", nil},
	}
	for _, tt := range tests {
		got, err := parseListeners("listeners", tt.in)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parseListeners(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

func TestListenerString(t *testing.T) {
	for _, s := range []string{"PLAINTEXT://127.0.0.1:9092", "PLAINTEXT://:9092", "PLAINTEXT://[::1]:9092"} {
		ls, err := parseListeners("listeners", s)
		if err != nil {
			t.Fatal(err)
		}
		if got := ls[0].String(); got != s {
			t.Errorf("String() = %q, want %q", got, s)
		}
	}
	if got := (Listener{"PLAINTEXT", "::1", 9092}).Address(); got != "[::1]:9092" {
		t.Errorf("Address() = %q", got)
	}
}

func TestAdvertised(t *testing.T) {
	b := Default()
	b.Listeners = []Listener{{"A", "", 1}, {"B", "0.0.0.0", 2}, {"C", "::", 3}, {"D", "10.0.0.1", 4}}
	want := []Listener{{"A", "127.0.0.1", 1}, {"B", "127.0.0.1", 2}, {"C", "127.0.0.1", 3}, {"D", "10.0.0.1", 4}}
	got := b.Advertised()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Advertised() = %+v, want %+v", got, want)
	}
	got[3].Host = "changed"
	if b.Listeners[3].Host != "10.0.0.1" {
		t.Error("Advertised() aliases Listeners")
	}

	b.AdvertisedListeners = []Listener{{"A", "broker.example", 9092}}
	if got := b.Advertised(); !reflect.DeepEqual(got, b.AdvertisedListeners) {
		t.Errorf("Advertised() = %+v, want advertised.listeners %+v", got, b.AdvertisedListeners)
	}
}
