package config

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// EnvPrefix starts every environment variable that Load reads.
const EnvPrefix = "RUNNEL_"

// EnvVar returns the environment variable that sets the property name:
// RUNNEL_ and the name upper-cased with dots turned into underscores
// (log.dirs: RUNNEL_LOG_DIRS).
func EnvVar(name string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(name, ".", "_"))
}

// envProperty is EnvVar's inverse. No broker property name contains an
// underscore, so the mapping is unambiguous.
func envProperty(variable string) string {
	return strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(variable, EnvPrefix), "_", "."))
}

// setting is one key=value from some source, with where it came from for
// messages: "path:line", an environment variable name, or "--set".
type setting struct {
	key, value, source string
}

// Load builds a Broker from, in increasing priority: Default(), the
// .properties file at path (skipped when path is ""), the RUNNEL_*
// entries of environ (as from os.Environ), and overrides, each
// "key=value" (the repeated --set flag). Later sources override earlier
// ones property by property.
//
// Within one source, Kafka's aliases resolve as Kafka does whatever their
// order: log.dirs beats log.dir, log.retention.ms beats .minutes beats
// .hours, log.roll.ms beats log.roll.hours. The losing alias is still
// validated and produces a warning. Across sources the later source wins,
// so RUNNEL_LOG_RETENTION_HOURS overrides log.retention.ms from the file.
//
// Unknown properties in any source are not errors: each produces a
// warning such as `runnel.properties:7: unknown property "foo.bar"
// ignored`, because server.properties files carry settings Runnel does not
// implement. Any other problem is an error naming its source; the result
// is then the zero Broker. Warnings gathered so far are returned either
// way.
func Load(path string, environ []string, overrides []string) (Broker, []string, error) {
	b := Default()
	var warnings []string
	apply := func(settings []setting) error {
		w, err := applySettings(&b, settings)
		warnings = append(warnings, w...)
		return err
	}

	if path != "" {
		settings, err := readFile(path)
		if err != nil {
			return Broker{}, warnings, err
		}
		if err := apply(settings); err != nil {
			return Broker{}, warnings, err
		}
	}

	var env []setting
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if ok && strings.HasPrefix(k, EnvPrefix) {
			env = append(env, setting{key: envProperty(k), value: v, source: k})
		}
	}
	if err := apply(env); err != nil {
		return Broker{}, warnings, err
	}

	var set []setting
	for _, kv := range overrides {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return Broker{}, warnings, fmt.Errorf("--set %q: want key=value, for example --set num.partitions=3", kv)
		}
		set = append(set, setting{key: strings.TrimSpace(k), value: v, source: "--set"})
	}
	if err := apply(set); err != nil {
		return Broker{}, warnings, err
	}

	if err := b.Validate(); err != nil {
		return Broker{}, warnings, err
	}
	return b, warnings, nil
}

// readFile reads a .properties file into settings labelled path:line.
func readFile(path string) ([]setting, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading configuration: %w", err)
	}
	defer f.Close()
	entries, err := readProperties(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	settings := make([]setting, len(entries))
	for i, e := range entries {
		settings[i] = setting{key: e.key, value: e.value, source: fmt.Sprintf("%s:%d", path, e.line)}
	}
	return settings, nil
}

// applySettings applies the settings of one source to b in order. It
// returns warnings for unknown properties and for aliases another setting
// of the same source supersedes, and stops at the first invalid value.
func applySettings(b *Broker, settings []setting) (warnings []string, err error) {
	present := make(map[string]bool, len(settings))
	for _, s := range settings {
		present[s.key] = true
	}
	for _, s := range settings {
		if winner := supersedingKey(s.key, present); winner != "" {
			// Validate the losing alias on a scratch copy, so a bad value
			// is reported even though it would not take effect.
			scratch := Default()
			if err := scratch.Set(s.key, s.value); err != nil {
				return warnings, fmt.Errorf("%s: %w", s.source, err)
			}
			warnings = append(warnings, fmt.Sprintf("%s: %s ignored because %s is also set", s.source, s.key, winner))
			continue
		}
		err := b.Set(s.key, s.value)
		switch {
		case errors.Is(err, ErrUnknownProperty):
			warnings = append(warnings, fmt.Sprintf("%s: %v ignored", s.source, err))
		case err != nil:
			return warnings, fmt.Errorf("%s: %w", s.source, err)
		}
	}
	return warnings, nil
}

// supersedingKey returns the alias in present that overrides key, or "".
func supersedingKey(key string, present map[string]bool) string {
	p, ok := byName[key]
	if !ok {
		return ""
	}
	// supersededBy is ordered weakest to strongest; name the strongest.
	for i := len(p.supersededBy) - 1; i >= 0; i-- {
		if present[p.supersededBy[i]] {
			return p.supersededBy[i]
		}
	}
	return ""
}

// Validate checks what no single property can: that advertised.listeners
// only names listeners that exist, and that the lists Load requires are
// not empty (a Broker built in code may skip Set).
func (b Broker) Validate() error {
	if len(b.Listeners) == 0 {
		return errors.New("listeners: at least one listener is required")
	}
	if len(b.LogDirs) == 0 {
		return errors.New("log.dirs: at least one directory is required")
	}
	names := make(map[string]bool, len(b.Listeners))
	for _, l := range b.Listeners {
		names[l.Name] = true
	}
	for _, l := range b.AdvertisedListeners {
		if !names[l.Name] {
			return fmt.Errorf("advertised.listeners: %s names listener %s, which listeners does not define", l, l.Name)
		}
	}
	return nil
}
