package sdk

import "errors"

// ErrUnavailable reports that an extension could not be asked at all: its
// process is down, restarting or did not answer in time. The kernel turns
// it into a retriable Kafka error rather than a failure of the request's
// content.
var ErrUnavailable = errors.New("extension unavailable")
