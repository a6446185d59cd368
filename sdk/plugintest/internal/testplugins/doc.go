// Package testplugins holds the implementations plugintest's own tests
// run the suites and the error mapping against: an allow-list Authorizer
// and a user-table Authenticator (Runnel has no builtin ones yet), and
// Faulty, which fails on purpose. The plugin binary under
// ../../testdata serves them too, so the same values meet the suites in
// process, over gRPC in memory and across a process boundary.
//
// They are fixtures: small and obvious, not secure (passwords in plain
// text, compared in variable time).
package testplugins
