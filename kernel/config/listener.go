package config

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// String returns the listener in its property form, NAME://host:port,
// with an IPv6 host in brackets.
func (l Listener) String() string {
	return l.Name + "://" + l.Address()
}

// Address returns host:port for net.Listen or a client dial. An empty
// host gives ":port", which binds every interface.
func (l Listener) Address() string {
	return net.JoinHostPort(l.Host, strconv.Itoa(l.Port))
}

// Advertised returns the listeners the broker tells clients to connect to:
// advertised.listeners, or listeners when that is empty. A wildcard host
// (empty, 0.0.0.0 or ::) cannot be dialled, so it is advertised as
// 127.0.0.1. That keeps the default single-machine setup working; an
// operator whose clients run elsewhere sets advertised.listeners to a host
// they can reach. The result never aliases b's slices.
func (b Broker) Advertised() []Listener {
	src := b.AdvertisedListeners
	if len(src) == 0 {
		src = b.Listeners
	}
	out := make([]Listener, len(src))
	for i, l := range src {
		if isWildcard(l.Host) {
			l.Host = "127.0.0.1"
		}
		out[i] = l
	}
	return out
}

func isWildcard(host string) bool {
	return host == "" || host == "0.0.0.0" || host == "::"
}

// parseListeners parses NAME://host:port[,NAME://host:port...] for the
// property name. An empty value gives nil. Names are upper-cased (Kafka
// treats them case-insensitively) and must be unique. An empty host is
// kept as "" and means every interface; an explicit 0.0.0.0 is kept as
// written, since Go binds it to IPv4 only.
func parseListeners(name, value string) ([]Listener, error) {
	var out []Listener
	seen := map[string]bool{}
	for _, item := range parseList(value) {
		l, err := parseListener(item)
		if err != nil {
			return nil, fmt.Errorf("%s: %q %s", name, item, err)
		}
		if seen[l.Name] {
			return nil, fmt.Errorf("%s: listener name %s is used twice; each listener needs its own name", name, l.Name)
		}
		seen[l.Name] = true
		out = append(out, l)
	}
	return out, nil
}

// parseListener parses one NAME://host:port. Its errors are sentence
// tails ("is not ...") for parseListeners to prefix.
func parseListener(s string) (Listener, error) {
	const form = "is not of the form NAME://host:port"
	lname, addr, ok := strings.Cut(s, "://")
	if !ok || lname == "" {
		return Listener{}, fmt.Errorf("%s", form)
	}
	for _, r := range lname {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.') {
			return Listener{}, fmt.Errorf("has a listener name with %q; use letters, digits, '_', '-' and '.'", r)
		}
	}
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return Listener{}, fmt.Errorf("%s (IPv6 hosts go in brackets: [::1]:9092)", form)
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < 0 || port > 65535 {
		return Listener{}, fmt.Errorf("has port %q; a port is a number from 0 to 65535", portText)
	}
	return Listener{Name: strings.ToUpper(lname), Host: host, Port: port}, nil
}
