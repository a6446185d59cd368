// Package e2e holds Runnel's end-to-end tests: a real broker on a free
// loopback port, driven over real sockets by real Kafka clients (franz-go,
// kcat from librdkafka, kafka-python) and by the runnel binary itself.
//
// The external clients come from Debian packages (.ci/run installs them).
// Outside CI a missing client skips its tests; under CI (CI=true) it fails
// them, so a broken install step cannot pass unnoticed.
package e2e
