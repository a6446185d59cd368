package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// The helpers below turn one textual value into a typed one. Every error
// they return is a full sentence naming the property and the bad value, so
// callers only prefix where the value came from.

// parseWhole parses a base-10 integer that fits in bits bits.
func parseWhole(name, value string, bits int) (int64, error) {
	n, err := strconv.ParseInt(value, 10, bits)
	if err == nil {
		return n, nil
	}
	if errors.Is(err, strconv.ErrRange) {
		limit := int64(1)<<(bits-1) - 1
		return 0, fmt.Errorf("%s: %q is out of range (%d to %d)", name, value, -limit-1, limit)
	}
	if value == "" {
		return 0, fmt.Errorf("%s: a whole number is required", name)
	}
	return 0, fmt.Errorf("%s: %q is not a whole number", name, value)
}

// parseAtLeast parses a whole number no smaller than min.
func parseAtLeast(name, value string, bits int, min int64) (int64, error) {
	n, err := parseWhole(name, value, bits)
	if err != nil {
		return 0, err
	}
	if n < min {
		return 0, fmt.Errorf("%s: %q is too small (at least %d)", name, value, min)
	}
	return n, nil
}

// parseLimit parses a time or size limit where -1 means "no limit" and
// other values must be at least min. Kafka quietly turns any negative
// retention into -1; we reject the others, because -5 is more likely a
// typo than a deliberate "forever".
func parseLimit(name, value string, bits int, min int64) (int64, error) {
	n, err := parseWhole(name, value, bits)
	if err != nil {
		return 0, err
	}
	if n != -1 && n < min {
		return 0, fmt.Errorf("%s: %q must be -1 (no limit) or at least %d", name, value, min)
	}
	return n, nil
}

// parseBool accepts true and false in any letter case, as Kafka does.
func parseBool(name, value string) (bool, error) {
	switch {
	case strings.EqualFold(value, "true"):
		return true, nil
	case strings.EqualFold(value, "false"):
		return false, nil
	}
	return false, fmt.Errorf("%s: %q is not true or false", name, value)
}

// parseList splits a comma-separated list, trimming entries and dropping
// empty ones, as Kafka's CSV properties do.
func parseList(value string) []string {
	var out []string
	for _, item := range strings.Split(value, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}
