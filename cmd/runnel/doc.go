// Command runnel is Runnel's single binary: the broker itself (runnel
// serve) and the small Kafka clients an operator needs next to it (runnel
// topic, runnel produce, runnel consume).
//
// The client commands talk to any Kafka-compatible cluster through
// franz-go, so they are as useful against Apache Kafka as against Runnel.
// They use the standard flag package, one FlagSet per command, with two
// conveniences the package lacks on its own: flags may follow positional
// arguments ("runnel topic create orders --partitions 6"), and a flag may
// have aliases ("-b" and "--bootstrap"), shown together in --help.
//
// Every command function takes its arguments and its I/O streams as
// parameters and returns an error instead of exiting, so tests (and the
// end-to-end suite) can run a command in-process against a broker:
//
//	runTopic(ctx, args, stdout, stderr)
//	runProduce(ctx, args, stdin, stdout, stderr)
//	runConsume(ctx, args, stdout, stderr)
//
// main.go maps the returned error to an exit status: 0 on success or
// when help was asked for, 2 for a usage mistake, 1 for anything else.
package main
