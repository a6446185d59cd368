// Package config owns the broker's configuration: the Broker and Topic
// settings, their defaults, the table of supported properties, and the
// loading of a Java-style .properties file, RUNNEL_* environment variables
// and --set overrides into one validated Broker.
//
// Property names are Apache Kafka's wherever Kafka has one, so an
// operator's server.properties and topic configs carry over. Set and
// Topic.Set parse and validate one value at a time; Load layers the
// sources (defaults < file < environment < --set) and reports unknown
// properties as warnings rather than failing, because a Kafka
// server.properties commonly names settings Runnel does not have.
//
// The package does no I/O beyond reading the properties file and imports
// nothing of Runnel's own.
package config
