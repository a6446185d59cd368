// Package plugins owns Runnel's builtin extensions and the registry that
// resolves configured extension ids to implementations.
//
// Ids are namespaced by extension point: "partitioner.murmur2",
// "assignor.uniform", and so on. Builtins register themselves in init()
// functions of packages under plugins/; the blank-import list in
// plugins/builtin is the whole set a binary gets. Registering an id twice
// panics, because two implementations answering to one name is a build
// mistake, not a runtime condition.
//
// The kernel never imports this package: cmd/ resolves configuration
// through the registry and hands the kernel sdk interfaces.
package plugins
