package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/twmb/franz-go/pkg/kadm"
)

var topicDoc = commandDoc{
	name:  "topic",
	usage: "topic <subcommand> [flags]",
	detail: `Manage the topics of a cluster: create, list, describe and delete them.
Works against any Kafka-compatible cluster, Runnel or not.`,
	examples: []string{
		"runnel topic create orders --partitions 6",
		"runnel topic list",
		"runnel topic describe orders",
		"runnel topic delete orders",
	},
}

var topicSubcommands = []subcommand{
	{topicCreateDoc, runTopicCreate},
	{topicListDoc, runTopicList},
	{topicDescribeDoc, runTopicDescribe},
	{topicDeleteDoc, runTopicDelete},
}

// runTopic runs `runnel topic ARGS`. Tables and confirmations go to
// stdout; stderr is unused for now (errors are returned).
func runTopic(ctx context.Context, args []string, stdout, _ io.Writer) error {
	return runSubcommand(ctx, topicDoc, topicSubcommands, args, stdout)
}

// --- create ---

var topicCreateDoc = commandDoc{
	name:    "topic create",
	summary: "create topics",
	usage:   "topic create NAME... [flags]",
	detail: `Create one or more topics. Every topic gets the same partition count,
replication factor and configs; -1 leaves the choice to the broker's
defaults (num.partitions, default.replication.factor).`,
	examples: []string{
		"runnel topic create orders",
		"runnel topic create orders --partitions 6 --replication-factor 3",
		"runnel topic create audit --config retention.ms=86400000 --config cleanup.policy=compact",
	},
}

// topicCreateOptions are the parsed flags of topic create.
type topicCreateOptions struct {
	client            *clientFlags
	names             []string
	partitions        int32
	replicationFactor int16
	configs           map[string]*string
}

func parseTopicCreate(args []string, stdout io.Writer) (*topicCreateOptions, error) {
	f := newFlagSet(topicCreateDoc)
	o := &topicCreateOptions{client: addClientFlags(f)}
	partitions := f.Int("partitions", -1, "create `N` partitions; -1 uses the broker's default")
	rf := f.Int("replication-factor", -1, "keep `N` replicas of each partition; -1 uses the broker's default")
	var configs stringList
	f.Var(&configs, "config", "topic config as `key=value`; repeat for more than one")
	names, err := f.parse(args, stdout)
	if err != nil {
		return nil, err
	}
	if err := o.client.validate(f); err != nil {
		return nil, err
	}
	if o.names, err = checkTopicNames(names); err != nil {
		return nil, f.usageErr("%v", err)
	}
	if *partitions == 0 || *partitions < -1 || *partitions > math.MaxInt32 {
		return nil, f.usageErr("--partitions must be at least 1, or -1 for the broker's default; got %d", *partitions)
	}
	if *rf == 0 || *rf < -1 || *rf > math.MaxInt16 {
		return nil, f.usageErr("--replication-factor must be between 1 and %d, or -1 for the broker's default; got %d", math.MaxInt16, *rf)
	}
	o.partitions, o.replicationFactor = int32(*partitions), int16(*rf)
	if o.configs, err = parseTopicConfigs(configs); err != nil {
		return nil, f.usageErr("%v", err)
	}
	return o, nil
}

// parseTopicNamesCommand parses the flags of a subcommand that takes
// topic names and returns the checked names and client settings.
func parseTopicNamesCommand(doc commandDoc, args []string, stdout io.Writer) ([]string, *clientFlags, error) {
	f := newFlagSet(doc)
	client := addClientFlags(f)
	names, err := f.parse(args, stdout)
	if err != nil {
		return nil, nil, err
	}
	if err := client.validate(f); err != nil {
		return nil, nil, err
	}
	if names, err = checkTopicNames(names); err != nil {
		return nil, nil, f.usageErr("%v", err)
	}
	return names, client, nil
}

// checkTopicNames rejects a missing, empty or repeated name; the broker
// would answer a repeated name with a bare INVALID_REQUEST.
func checkTopicNames(names []string) ([]string, error) {
	if len(names) == 0 {
		return nil, errors.New("no topic name given")
	}
	seen := map[string]bool{}
	for _, n := range names {
		if n == "" {
			return nil, errors.New("a topic name cannot be empty")
		}
		if seen[n] {
			return nil, fmt.Errorf("topic %q is named twice", n)
		}
		seen[n] = true
	}
	return names, nil
}

// parseTopicConfigs turns repeated --config key=value flags into the map
// kadm.CreateTopics takes.
func parseTopicConfigs(kvs []string) (map[string]*string, error) {
	if len(kvs) == 0 {
		return nil, nil
	}
	configs := make(map[string]*string, len(kvs))
	for _, kv := range kvs {
		k, v, err := parseKeyValue(kv)
		if err != nil {
			return nil, fmt.Errorf("--config %v", err)
		}
		if _, dup := configs[k]; dup {
			return nil, fmt.Errorf("config %q is given twice", k)
		}
		configs[k] = kadm.StringPtr(v)
	}
	return configs, nil
}

func runTopicCreate(ctx context.Context, args []string, stdout io.Writer) error {
	o, err := parseTopicCreate(args, stdout)
	if err != nil {
		return err
	}
	adm, ctx, done, err := o.client.openAdmin(ctx)
	if err != nil {
		return err
	}
	defer done()
	resps, err := adm.CreateTopics(ctx, o.partitions, o.replicationFactor, o.configs, o.names...)
	if err != nil {
		return fmt.Errorf("could not create topics: %w", err)
	}
	var errs []error
	for _, name := range o.names {
		r, ok := resps[name]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("topic %q: the broker did not answer for it", name))
		case r.Err != nil:
			errs = append(errs, topicError(name, r.Err, r.ErrMessage))
		default:
			fmt.Fprintln(stdout, createdMessage(r))
		}
	}
	return errors.Join(errs...)
}

// createdMessage confirms a creation. Brokers older than Kafka 2.4 do not
// return the partition count, hence the short form.
func createdMessage(r kadm.CreateTopicResponse) string {
	if r.NumPartitions <= 0 {
		return fmt.Sprintf("created topic %q", r.Topic)
	}
	return fmt.Sprintf("created topic %q with %d partitions and replication factor %d",
		r.Topic, r.NumPartitions, r.ReplicationFactor)
}

// topicError formats a per-topic error from the broker, for example
// `topic "x": TOPIC_ALREADY_EXISTS: Topic with this name already exists.`,
// adding the broker's own message when it says more than the code.
func topicError(topic string, err error, brokerMsg string) error {
	if brokerMsg != "" && !strings.Contains(err.Error(), brokerMsg) {
		return fmt.Errorf("topic %q: %w (%s)", topic, err, brokerMsg)
	}
	return fmt.Errorf("topic %q: %w", topic, err)
}

// --- list ---

var topicListDoc = commandDoc{
	name:    "topic list",
	summary: "list topics with their partition and replica counts",
	usage:   "topic list [flags]",
	detail: `List the topics of the cluster as a table of NAME, PARTITIONS and REPLICAS
(the replication factor). Internal topics such as __consumer_offsets are
hidden unless --all is given.`,
	examples: []string{
		"runnel topic list",
		"runnel topic list --all -b broker1:9092,broker2:9092",
	},
}

func runTopicList(ctx context.Context, args []string, stdout io.Writer) error {
	f := newFlagSet(topicListDoc)
	client := addClientFlags(f)
	all := f.Bool("all", false, "include internal topics")
	rest, err := f.parse(args, stdout)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return f.usageErr("topic list takes no arguments; use 'runnel topic describe %s' for details", strings.Join(rest, " "))
	}
	if err := client.validate(f); err != nil {
		return err
	}
	adm, ctx, done, err := client.openAdmin(ctx)
	if err != nil {
		return err
	}
	defer done()
	list := adm.ListTopics
	if *all {
		list = adm.ListTopicsWithInternal
	}
	topics, err := list(ctx)
	if err != nil {
		return fmt.Errorf("could not list topics: %w", err)
	}
	return writeTopicTable(stdout, topics)
}

// writeTopicTable prints topics sorted by name. A topic the broker could
// not load is left out of the table and reported as an error.
func writeTopicTable(w io.Writer, topics kadm.TopicDetails) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tPARTITIONS\tREPLICAS")
	var errs []error
	for _, t := range topics.Sorted() {
		if t.Err != nil {
			errs = append(errs, topicError(t.Topic, t.Err, ""))
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\n", t.Topic, len(t.Partitions), replicationFactor(t))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return errors.Join(errs...)
}

// replicationFactor is the largest replica count among the partitions;
// during a reassignment partitions may briefly differ.
func replicationFactor(t kadm.TopicDetail) int {
	rf := 0
	for _, p := range t.Partitions {
		rf = max(rf, len(p.Replicas))
	}
	return rf
}

// --- describe ---

var topicDescribeDoc = commandDoc{
	name:    "topic describe",
	summary: "show the topic ID and the partitions of topics",
	usage:   "topic describe NAME... [flags]",
	detail: `Describe topics: the topic ID, then one row per partition with its
LEADER broker, its REPLICAS and its in-sync replicas (ISR). A leader of
"none" means the partition is offline.`,
	examples: []string{
		"runnel topic describe orders",
		"runnel topic describe orders payments",
	},
}

func runTopicDescribe(ctx context.Context, args []string, stdout io.Writer) error {
	names, client, err := parseTopicNamesCommand(topicDescribeDoc, args, stdout)
	if err != nil {
		return err
	}
	adm, ctx, done, err := client.openAdmin(ctx)
	if err != nil {
		return err
	}
	defer done()
	topics, err := adm.ListTopicsWithInternal(ctx, names...)
	if err != nil {
		return fmt.Errorf("could not describe topics: %w", err)
	}
	var errs []error
	first := true
	for _, name := range names {
		t, ok := topics[name]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("topic %q: the broker did not answer for it", name))
		case t.Err != nil:
			errs = append(errs, topicError(name, t.Err, ""))
		default:
			if !first {
				fmt.Fprintln(stdout)
			}
			first = false
			if err := writeTopicDescription(stdout, t); err != nil {
				return err
			}
		}
	}
	return errors.Join(errs...)
}

// writeTopicDescription prints a header line and a partition table.
func writeTopicDescription(w io.Writer, t kadm.TopicDetail) error {
	fmt.Fprintf(w, "Topic: %s\tID: %s\tPartitions: %d\tReplication factor: %d\n",
		t.Topic, formatTopicID(t.ID), len(t.Partitions), replicationFactor(t))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PARTITION\tLEADER\tREPLICAS\tISR")
	for _, p := range t.Partitions.Sorted() {
		leader := "none"
		if p.Leader >= 0 {
			leader = strconv.Itoa(int(p.Leader))
		}
		row := fmt.Sprintf("%d\t%s\t%s\t%s", p.Partition, leader, joinInt32(p.Replicas), joinInt32(p.ISR))
		if p.Err != nil {
			row += "\t" + p.Err.Error()
		}
		fmt.Fprintln(tw, row)
	}
	return tw.Flush()
}

// formatTopicID prints an ID the way Kafka's own tools do (URL-safe
// base64 without padding), so it can be compared with their output.
func formatTopicID(id kadm.TopicID) string {
	if id == (kadm.TopicID{}) {
		return "none"
	}
	return base64.RawURLEncoding.EncodeToString(id[:])
}

func joinInt32(xs []int32) string {
	if len(xs) == 0 {
		return "-"
	}
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.Itoa(int(x))
	}
	return strings.Join(s, ",")
}

// --- delete ---

var topicDeleteDoc = commandDoc{
	name:    "topic delete",
	summary: "delete topics and all their records",
	usage:   "topic delete NAME... [flags]",
	detail: `Delete topics, with all their records. There is no confirmation prompt and
no undo.`,
	examples: []string{
		"runnel topic delete orders",
		"runnel topic delete scratch-1 scratch-2",
	},
}

func runTopicDelete(ctx context.Context, args []string, stdout io.Writer) error {
	names, client, err := parseTopicNamesCommand(topicDeleteDoc, args, stdout)
	if err != nil {
		return err
	}
	adm, ctx, done, err := client.openAdmin(ctx)
	if err != nil {
		return err
	}
	defer done()
	resps, err := adm.DeleteTopics(ctx, names...)
	if err != nil {
		return fmt.Errorf("could not delete topics: %w", err)
	}
	return reportDeletes(stdout, "topic", names, func(name string) (bool, error) {
		r, ok := resps[name]
		if ok && r.Err != nil {
			return true, topicError(name, r.Err, r.ErrMessage)
		}
		return ok, nil
	})
}
