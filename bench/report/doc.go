// Package report turns the raw numbers of a `make bench` run into what
// people read: medians per workload and broker, ratios against kfake and
// against the machine's limits, the targets with met or missed,
// a RESULTS.md and a PNG chart.
//
// It does no measuring and starts no processes (that is bench/suite), so
// everything here is a pure function of its inputs and unit-tested with
// canned results. A measurement that could not be taken is a missing
// Value, never a zero: it shows as "n/a" and leaves targets unjudged.
package report
