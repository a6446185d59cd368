// Package lint checks, as ordinary tests, rules of the codebase that
// compilers do not: which packages may import which (the dependency
// direction of the design), and where system calls may be made.
package lint
