package segments

// Test helpers for the external test package (errorfs_test.go), which
// needs errorfs and so cannot be package segments.

// TestBatch is testBatch: a valid batch of records copies of payload.
var TestBatch = testBatch

// CrashDir abandons d as kill -9 would.
func CrashDir(d *Dir) { d.crash() }

// Keyed builds a batch of "key=value" records ("~" for null) at
// timestamp ts.
var Keyed = keyed
