package report

import (
	"math"
	"slices"
)

// Value is a measured number that may be missing: a workload that failed,
// a tool that is not installed, a field the load generator left out.
type Value struct {
	V  float64
	OK bool
}

// Some returns a present value.
func Some(v float64) Value { return Value{V: v, OK: true} }

// None is the missing value.
var None Value

// ptrValue turns an optional JSON number into a Value.
func ptrValue(p *float64) Value {
	if p == nil {
		return None
	}
	return Some(*p)
}

// Median returns the median of xs, the mean of the middle two for an even
// count, and None for no values. The suite reports medians rather than
// means because one disturbed rep (a page-cache flush, a noisy neighbour)
// should not move the headline number.
func Median(xs []float64) Value {
	if len(xs) == 0 {
		return None
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return Some(s[n/2])
	}
	return Some((s[n/2-1] + s[n/2]) / 2)
}

// medianOf is the median of the present values among vs.
func medianOf(vs []Value) Value {
	var xs []float64
	for _, v := range vs {
		if v.OK && !math.IsNaN(v.V) {
			xs = append(xs, v.V)
		}
	}
	return Median(xs)
}

// Ratio is a ÷ b, missing when either is missing or b is zero.
func Ratio(a, b Value) Value {
	if !a.OK || !b.OK || b.V == 0 {
		return None
	}
	return Some(a.V / b.V)
}

// maxValue is the larger present value of a and b.
func maxValue(a, b Value) Value {
	switch {
	case !a.OK:
		return b
	case !b.OK:
		return a
	default:
		return Some(math.Max(a.V, b.V))
	}
}
