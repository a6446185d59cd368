// Package plugintest holds the conformance suites of Runnel's extension
// points and the bindings that run them against an implementation in
// process, over gRPC in memory and as a real plugin process.
//
// The suites check what the host relies on, whatever the implementation
// is: every partition in range, every partition of a subscribed topic
// owned by exactly one subscriber, one decision per action, a SASL
// exchange that ends in the right principal or in an error. Each property
// is a subtest, so a failure names it. They say nothing about quality
// (balance, stickiness, speed); test that on its own.
//
// A plugin author runs one suite three ways, so a bug in the wire
// binding or the process shows up even when the Go code is right:
//
//	func TestConformance(t *testing.T) {
//		t.Run("builtin", func(t *testing.T) {
//			plugintest.TestAssignor(t, func() sdk.Assignor { return &RackAware{} })
//		})
//		t.Run("grpc", func(t *testing.T) {
//			plugintest.TestAssignor(t, func() sdk.Assignor {
//				return plugintest.InMemory[sdk.Assignor](t, sdk.PointAssignor, &RackAware{})
//			})
//		})
//		t.Run("process", func(t *testing.T) {
//			bin := buildPluginOnce(t) // `go build` of the plugin's main
//			plugintest.TestAssignor(t, func() sdk.Assignor {
//				return plugintest.Subprocess[sdk.Assignor](t, sdk.PointAssignor, exec.Command(bin))
//			})
//		})
//	}
//
// Suites call their factory once per subtest, so no state leaks from one
// property into the next; a factory that starts a process starts one per
// subtest, and the binding stops it when the test ends.
//
// The package imports only sdk, go-plugin (with its logger, hclog) and
// the standard library, so depending on it costs a plugin module nothing
// sdk does not already cost.
package plugintest
