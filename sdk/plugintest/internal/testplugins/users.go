package testplugins

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/runnel-dev/runnel/sdk"
)

// Users is an sdk.Authenticator over a user table. It serves PLAIN (RFC
// 4616, one message) and TEST-CHALLENGE, a two-step mechanism made up for
// the tests: the client names itself, the server answers a nonce, the
// client sends "nonce:password" back. The second exercises exchanges that
// live across Steps and whose client messages depend on the server's.
type Users struct {
	Users map[string]User
}

// User is one entry of the table.
type User struct {
	Password string
	// Host, if set, is the only client address the user may log in from.
	Host string
}

var _ sdk.Authenticator = (*Users)(nil)

// NewUsers returns the table the tests expect: alice and bob from
// anywhere, carol from 10.0.0.7 only.
func NewUsers() *Users {
	return &Users{Users: map[string]User{
		"alice": {Password: "alice-secret"},
		"bob":   {Password: "bob-secret"},
		"carol": {Password: "carol-secret", Host: "10.0.0.7"},
	}}
}

// errCredentials is the one failure for a wrong user, password or host,
// so a client learns nothing about which it got wrong.
var errCredentials = errors.New("authentication failed: invalid credentials")

// Mechanisms implements sdk.Authenticator.
func (u *Users) Mechanisms() []string { return []string{"PLAIN", "TEST-CHALLENGE"} }

// Start implements sdk.Authenticator.
func (u *Users) Start(mechanism string, conn sdk.ConnInfo) (sdk.AuthExchange, error) {
	switch mechanism {
	case "PLAIN":
		return &plain{users: u, conn: conn}, nil
	case "TEST-CHALLENGE":
		return &challenge{users: u, conn: conn}, nil
	}
	return nil, fmt.Errorf("unsupported SASL mechanism %q", mechanism)
}

// check returns the principal of user if password and host are right.
func (u *Users) check(user, password string, conn sdk.ConnInfo) (sdk.Principal, error) {
	e, ok := u.Users[user]
	if !ok || e.Password != password || (e.Host != "" && e.Host != conn.ClientHost) {
		return sdk.Principal{}, errCredentials
	}
	return sdk.Principal{Type: "User", Name: user}, nil
}

type plain struct {
	users *Users
	conn  sdk.ConnInfo
}

func (p *plain) Step(msg []byte) ([]byte, bool, sdk.Principal, error) {
	parts := bytes.Split(msg, []byte{0})
	if len(parts) != 3 {
		return nil, true, sdk.Principal{}, errors.New("malformed PLAIN message")
	}
	authz, user, password := string(parts[0]), string(parts[1]), string(parts[2])
	if authz != "" && authz != user {
		return nil, true, sdk.Principal{}, errors.New("authentication failed: authorization id differs from the user")
	}
	principal, err := p.users.check(user, password, p.conn)
	return nil, true, principal, err
}

type challenge struct {
	users  *Users
	conn   sdk.ConnInfo
	user   string
	nonce  string
	closed bool
}

var _ sdk.AuthExchangeCloser = (*challenge)(nil)

func (c *challenge) Step(msg []byte) ([]byte, bool, sdk.Principal, error) {
	switch {
	case c.closed:
		return nil, true, sdk.Principal{}, errors.New("exchange closed")
	case c.nonce == "":
		c.user, c.nonce = string(msg), rand.Text()
		return []byte(c.nonce), false, sdk.Principal{}, nil
	}
	nonce, password, ok := bytes.Cut(msg, []byte(":"))
	if !ok || string(nonce) != c.nonce {
		return nil, true, sdk.Principal{}, errors.New("authentication failed: wrong nonce")
	}
	principal, err := c.users.check(c.user, string(password), c.conn)
	return nil, true, principal, err
}

func (c *challenge) Close() error {
	c.closed = true
	return nil
}
