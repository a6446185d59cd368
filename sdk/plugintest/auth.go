package plugintest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/runnel-dev/runnel/sdk"
)

// AuthorizerCase is one question and the decision an Authorizer must
// give.
type AuthorizerCase struct {
	Principal sdk.Principal
	Host      string
	Action    sdk.Action
	Want      sdk.Decision
}

func (c AuthorizerCase) String() string {
	return fmt.Sprintf("%s from %q: %s %s:%s", c.Principal, c.Host, c.Action.Operation, c.Action.Resource.Type, c.Action.Resource.Name)
}

// TestAuthorizer checks that the sdk.Authorizer newImpl returns answers
// one decision per action, in order, and the decisions cases give, asked
// one at a time and in batches (the kernel asks about every resource of a
// request at once). cases are the implementation's own policy; give at
// least one. Each subtest takes a fresh implementation from newImpl.
func TestAuthorizer(t *testing.T, newImpl func() sdk.Authorizer, cases ...AuthorizerCase) {
	if len(cases) == 0 {
		t.Fatal("TestAuthorizer needs cases: decisions the implementation must give")
	}

	t.Run("no-actions", func(t *testing.T) {
		a := build(t, newImpl)
		got, err := a.Authorize(sdk.AuthorizeRequest{Principal: cases[0].Principal, Host: cases[0].Host})
		if err != nil {
			t.Fatalf("Authorize with no actions: %v", err)
		}
		if len(got) != 0 {
			t.Errorf("Authorize with no actions answered %v", got)
		}
	})

	t.Run("one-at-a-time", func(t *testing.T) {
		a := build(t, newImpl)
		for _, c := range cases {
			got := authorize(t, a, c.Principal, c.Host, []sdk.Action{c.Action})
			if got[0] != c.Want {
				t.Errorf("%s: %s, want %s", c, got[0], c.Want)
			}
		}
	})

	t.Run("batched", func(t *testing.T) {
		// One request per principal and host, its actions in the cases'
		// order, then reversed, then each twice.
		a := build(t, newImpl)
		type who struct {
			p    sdk.Principal
			host string
		}
		var order []who
		byWho := map[who][]AuthorizerCase{}
		for _, c := range cases {
			w := who{c.Principal, c.Host}
			if _, seen := byWho[w]; !seen {
				order = append(order, w)
			}
			byWho[w] = append(byWho[w], c)
		}
		for _, w := range order {
			cs := byWho[w]
			for _, batch := range [][]AuthorizerCase{cs, reversed(cs), slices.Concat(cs, cs)} {
				actions := make([]sdk.Action, len(batch))
				for i, c := range batch {
					actions[i] = c.Action
				}
				got := authorize(t, a, w.p, w.host, actions)
				for i, c := range batch {
					if got[i] != c.Want {
						t.Errorf("%s, action %d of %d in one request: %s, want %s", c, i, len(batch), got[i], c.Want)
					}
				}
			}
		}
	})
}

// authorize asks a about actions and checks that it answered one
// decision per action.
func authorize(t *testing.T, a sdk.Authorizer, p sdk.Principal, host string, actions []sdk.Action) []sdk.Decision {
	t.Helper()
	got, err := a.Authorize(sdk.AuthorizeRequest{Principal: p, Host: host, Actions: actions})
	if err != nil {
		t.Fatalf("Authorize(%s from %q, %d actions): %v", p, host, len(actions), err)
	}
	if len(got) != len(actions) {
		t.Fatalf("Authorize(%s from %q, %d actions) answered %d decisions", p, host, len(actions), len(got))
	}
	return got
}

// AuthenticatorCase is one SASL exchange TestAuthenticator runs, and how
// it must end.
type AuthenticatorCase struct {
	// Name names the case's subtest.
	Name      string
	Mechanism string
	Conn      sdk.ConnInfo
	// Messages are the client's messages, one per Step, in order. The
	// exchange must end with the last one.
	Messages [][]byte
	// Reply, if set, is used instead of Messages, for mechanisms whose
	// client messages depend on the server's (SCRAM's nonces): it gets
	// the step number from 0 and the server's last answer (nil before
	// the first Step) and returns the client's next message.
	Reply func(step int, serverMessage []byte) []byte
	// Want is who a successful exchange authenticates.
	Want sdk.Principal
	// WantErr says that the exchange must fail instead (a bad
	// credential): Start or a Step must return an error.
	WantErr bool
}

// maxSteps bounds an exchange driven by AuthenticatorCase.Reply.
const maxSteps = 32

// unknownMechanism is a mechanism no implementation serves.
const unknownMechanism = "RUNNEL-PLUGINTEST-NO-SUCH-MECHANISM"

// TestAuthenticator checks that the sdk.Authenticator newImpl returns
// lists its mechanisms, runs every case to its end (a principal or an
// error), alone, interleaved with the others and after an abandoned
// exchange, and refuses a mechanism it does not serve. Give at least one
// case that succeeds and one that fails. Each subtest takes a fresh
// implementation from newImpl.
func TestAuthenticator(t *testing.T, newImpl func() sdk.Authenticator, cases ...AuthenticatorCase) {
	var good, bad int
	for _, c := range cases {
		switch {
		case c.WantErr:
			bad++
		case c.Want == (sdk.Principal{}):
			t.Fatalf("case %q: a successful exchange must authenticate someone; set Want or WantErr", c.Name)
		default:
			good++
		}
	}
	if good == 0 || bad == 0 {
		t.Fatalf("TestAuthenticator needs a case that succeeds and one that fails; has %d and %d", good, bad)
	}

	t.Run("mechanisms", func(t *testing.T) {
		a := build(t, newImpl)
		mechs := a.Mechanisms()
		if len(mechs) == 0 {
			t.Fatal("Mechanisms() is empty")
		}
		for i, m := range mechs {
			if m == "" {
				t.Errorf("Mechanisms() = %q has an empty name", mechs)
			}
			if slices.Contains(mechs[:i], m) {
				t.Errorf("Mechanisms() = %q lists %q twice", mechs, m)
			}
		}
		if again := a.Mechanisms(); !slices.Equal(again, mechs) {
			t.Errorf("Mechanisms() said %q, then %q", mechs, again)
		}
		for _, c := range cases {
			if !slices.Contains(mechs, c.Mechanism) {
				t.Errorf("case %q uses %q, which Mechanisms() = %q does not list", c.Name, c.Mechanism, mechs)
			}
		}
	})

	t.Run("unknown-mechanism", func(t *testing.T) {
		a := build(t, newImpl)
		if _, err := a.Start(unknownMechanism, sdk.ConnInfo{ClientHost: "127.0.0.1", Listener: "SASL_PLAINTEXT"}); err == nil {
			t.Errorf("Start(%q) did not fail", unknownMechanism)
		}
	})

	t.Run("cases", func(t *testing.T) {
		a := build(t, newImpl)
		for _, c := range cases {
			t.Run(c.Name, func(t *testing.T) {
				startExchange(a, c).run().check(t)
			})
		}
	})

	t.Run("interleaved", func(t *testing.T) {
		// Every case in progress at once, stepped in turn: the kernel
		// runs one exchange per connection, and they must not mix.
		a := build(t, newImpl)
		var runs []*exchange
		for _, c := range cases {
			runs = append(runs, startExchange(a, c))
		}
		for busy := true; busy; {
			busy = false
			for _, r := range runs {
				busy = r.step() || busy
			}
		}
		for _, r := range runs {
			r.check(t)
		}
	})

	t.Run("abandoned", func(t *testing.T) {
		// A client that disconnects halfway leaves its exchange to be
		// closed; the next one on the same authenticator must not care.
		a := build(t, newImpl)
		for _, c := range cases {
			ex, err := a.Start(c.Mechanism, c.Conn)
			if err != nil {
				continue // checked by "cases"
			}
			if closer, ok := ex.(sdk.AuthExchangeCloser); ok {
				if err := closer.Close(); err != nil {
					t.Errorf("%s: Close of an exchange not yet stepped: %v", c.Name, err)
				}
			}
		}
		for _, c := range cases {
			startExchange(a, c).run().check(t)
		}
	})
}

// exchange is one AuthenticatorCase in progress.
type exchange struct {
	c         AuthenticatorCase
	ex        sdk.AuthExchange
	steps     int
	server    []byte // the server's last answer
	done      bool
	principal sdk.Principal
	err       error // set when Start or a Step failed
}

func startExchange(a sdk.Authenticator, c AuthenticatorCase) *exchange {
	r := &exchange{c: c}
	r.ex, r.err = a.Start(c.Mechanism, c.Conn)
	return r
}

// step sends the client's next message, if the exchange is still going
// and the case has one, and reports whether it did.
func (r *exchange) step() bool {
	if r.err != nil || r.done {
		return false
	}
	var msg []byte
	switch {
	case r.c.Reply != nil && r.steps < maxSteps:
		msg = r.c.Reply(r.steps, r.server)
	case r.c.Reply == nil && r.steps < len(r.c.Messages):
		msg = r.c.Messages[r.steps]
	default:
		return false
	}
	r.steps++
	r.server, r.done, r.principal, r.err = r.ex.Step(msg)
	return true
}

// run steps the exchange to its end.
func (r *exchange) run() *exchange {
	for r.step() {
	}
	return r
}

// check reports how the exchange ended against how its case says it must.
func (r *exchange) check(t *testing.T) {
	t.Helper()
	c := r.c
	switch {
	case r.err != nil && c.WantErr:
	case r.err != nil:
		t.Errorf("%s: failed after %d steps: %v", c.Name, r.steps, r.err)
	case !r.done:
		t.Errorf("%s: not done after %d steps", c.Name, r.steps)
	case c.WantErr:
		t.Errorf("%s: a bad exchange authenticated %s after %d steps", c.Name, r.principal, r.steps)
	case c.Reply == nil && r.steps < len(c.Messages):
		t.Errorf("%s: done after %d steps of %d", c.Name, r.steps, len(c.Messages))
	case r.principal != c.Want:
		t.Errorf("%s: authenticated %s, want %s", c.Name, r.principal, c.Want)
	}
}
