// Command kfake runs franz-go's in-memory kfake broker as a process of its
// own, so `make bench` can start, measure (CPU, RSS) and stop it exactly
// like a Runnel broker: the reference point Runnel's throughput is
// compared with.
//
// It serves one broker on --listen with auto topic creation on, prints
// one line "listening on HOST:PORT" to stdout once clients can connect,
// and shuts down cleanly on SIGTERM or SIGINT. kfake keeps every record
// in memory: a long run needs as much RAM as it produces.
//
//	kfake --listen 127.0.0.1:0
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/twmb/franz-go/pkg/kfake"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "kfake:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("kfake", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:9092", "`host:port` to serve on; port 0 picks a free one")
	partitions := fs.Int("partitions", 1, "partitions of an auto-created topic, as Runnel's num.partitions default")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	host, portStr, err := net.SplitHostPort(*listen)
	if err != nil {
		return fmt.Errorf("--listen: %w", err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return fmt.Errorf("--listen: bad port %q", portStr)
	}

	// Signals first: a SIGTERM that arrives while the cluster starts must
	// still shut it down in order rather than kill the process.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)

	c, err := kfake.NewCluster(
		kfake.Ports(port), // one port, so one broker
		kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(*partitions),
		// kfake always listens on 127.0.0.1; ListenFn puts the broker on
		// the host we were asked for, keeping the port kfake chose.
		kfake.ListenFn(func(network, addr string) (net.Listener, error) {
			_, p, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			return net.Listen(network, net.JoinHostPort(host, p))
		}),
	)
	if err != nil {
		return err
	}
	defer c.Close()

	addrs := c.ListenAddrs()
	if len(addrs) != 1 {
		return fmt.Errorf("kfake started %d brokers, want 1", len(addrs))
	}
	// The listener is bound before NewCluster returns, so clients can
	// connect as soon as this line is out.
	fmt.Printf("listening on %s\n", addrs[0])

	s := <-sigs
	fmt.Fprintf(os.Stderr, "kfake: %s, shutting down\n", s)
	return nil
}
