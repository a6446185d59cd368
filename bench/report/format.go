package report

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// formatNumber prints about three significant digits, without trailing
// zeros: 0.5, 0.123, 12.3, 20000.
func formatNumber(v float64) string {
	var s string
	switch a := abs(v); {
	case a >= 100:
		s = strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		s = strconv.FormatFloat(v, 'f', 1, 64)
	case a >= 0.1 || a == 0:
		s = strconv.FormatFloat(v, 'f', 2, 64)
	default:
		s = strconv.FormatFloat(v, 'f', 3, 64)
	}
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}

// Plural is "1 rep", "3 reps".
func Plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// na is how a missing value prints.
const na = "n/a"

// num prints a value, or n/a.
func num(v Value) string {
	if !v.OK {
		return na
	}
	return formatNumber(v.V)
}

// micros prints a microsecond value as milliseconds.
func micros(v Value) string {
	if !v.OK {
		return na
	}
	return strconv.FormatFloat(v.V/1000, 'f', 2, 64)
}

// mibs prints a byte count as MiB.
func mibs(v Value) string {
	if !v.OK {
		return na
	}
	return strconv.FormatFloat(v.V/mib, 'f', 0, 64)
}

// ratio prints a ratio as "2.61×".
func ratio(v Value) string {
	if !v.OK {
		return "–"
	}
	return strconv.FormatFloat(v.V, 'f', 2, 64) + "×"
}

// table is a markdown table whose columns are padded to line up, so the
// same text reads well in a terminal and renders on GitHub.
type table struct {
	header []string
	// right marks columns aligned right (numbers).
	right []bool
	rows  [][]string
}

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

func (t *table) String() string {
	widths := make([]int, len(t.header))
	for _, r := range append([][]string{t.header}, t.rows...) {
		for i, c := range r {
			widths[i] = max(widths[i], utf8.RuneCountInString(c), 3)
		}
	}
	var b strings.Builder
	line := func(cells []string, cell func(i int, c string) string) {
		b.WriteString("|")
		for i := range widths {
			c := ""
			if i < len(cells) {
				c = cells[i]
			}
			b.WriteString(" " + cell(i, c) + " |")
		}
		b.WriteString("\n")
	}
	pad := func(i int, c string) string {
		gap := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c))
		if i < len(t.right) && t.right[i] {
			return gap + c
		}
		return c + gap
	}
	line(t.header, pad)
	line(nil, func(i int, _ string) string {
		if i < len(t.right) && t.right[i] {
			return strings.Repeat("-", widths[i]-1) + ":"
		}
		return strings.Repeat("-", widths[i])
	})
	for _, r := range t.rows {
		line(r, pad)
	}
	return b.String()
}
