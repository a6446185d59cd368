package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

var groupDoc = commandDoc{
	name:  "group",
	usage: "group <subcommand> [flags]",
	detail: `Manage the consumer groups of a cluster: list them, describe their members
and lag, delete them, and reset their committed offsets. Classic groups
and KIP-848 consumer groups alike. Works against any Kafka-compatible
cluster, Runnel or not.`,
	examples: []string{
		"runnel group list",
		"runnel group describe orders-app",
		"runnel group reset-offsets orders-app --topic orders --to-earliest",
		"runnel group reset-offsets orders-app --all-topics --to-datetime 2025-01-01T00:00:00Z --execute",
		"runnel group delete orders-app",
	},
}

var groupSubcommands = []subcommand{
	{groupListDoc, runGroupList},
	{groupDescribeDoc, runGroupDescribe},
	{groupDeleteDoc, runGroupDelete},
	{groupResetDoc, runGroupReset},
}

// runGroup runs `runnel group ARGS`.
func runGroup(ctx context.Context, args []string, stdout, _ io.Writer) error {
	return runSubcommand(ctx, groupDoc, groupSubcommands, args, stdout)
}

// parseGroupsCommand parses a subcommand that takes group names.
func parseGroupsCommand(doc commandDoc, args []string, stdout io.Writer) ([]string, *clientFlags, error) {
	f := newFlagSet(doc)
	client := addClientFlags(f)
	names, err := f.parse(args, stdout)
	if err != nil {
		return nil, nil, err
	}
	if err := client.validate(f); err != nil {
		return nil, nil, err
	}
	if len(names) == 0 {
		return nil, nil, f.usageErr("no group given")
	}
	return names, client, nil
}

// --- list ---

var groupListDoc = commandDoc{
	name:    "group list",
	summary: "list groups with their type and state",
	usage:   "group list [--state STATE]... [flags]",
	detail: `List the groups of the cluster as a table of GROUP, TYPE (classic, or
consumer for KIP-848 groups), STATE and PROTOCOL-TYPE. --state keeps the
groups in that state (Empty, Stable, PreparingRebalance, Assigning, ...).`,
	examples: []string{
		"runnel group list",
		"runnel group list --state Empty",
	},
}

func runGroupList(ctx context.Context, args []string, stdout io.Writer) error {
	f := newFlagSet(groupListDoc)
	client := addClientFlags(f)
	var states stringList
	f.Var(&states, "state", "only groups in `STATE`; repeat for more than one")
	rest, err := f.parse(args, stdout)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return f.usageErr("group list takes no arguments; use 'runnel group describe %s' for details", strings.Join(rest, " "))
	}
	if err := client.validate(f); err != nil {
		return err
	}
	cl, err := client.newClient()
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := client.withTimeout(ctx)
	defer cancel()
	req := kmsg.NewPtrListGroupsRequest()
	req.StatesFilter = states
	var groups []kmsg.ListGroupsResponseGroup
	var errs []error
	for _, shard := range cl.RequestSharded(ctx, req) {
		if shard.Err != nil {
			errs = append(errs, fmt.Errorf("broker %d: %w", shard.Meta.NodeID, shard.Err))
			continue
		}
		resp := shard.Resp.(*kmsg.ListGroupsResponse)
		if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
			errs = append(errs, fmt.Errorf("broker %d: %w", shard.Meta.NodeID, err))
			continue
		}
		groups = append(groups, resp.Groups...)
	}
	if len(groups) == 0 && len(errs) > 0 {
		return fmt.Errorf("could not list groups: %w", errors.Join(errs...))
	}
	sort.Slice(groups, func(i, j int) bool { return groups[i].Group < groups[j].Group })
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "GROUP\tTYPE\tSTATE\tPROTOCOL-TYPE")
	for _, g := range groups {
		typ := g.GroupType
		if typ == "" {
			typ = "classic"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", g.Group, typ, orDash(g.GroupState), orDash(g.ProtocolType))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return errors.Join(errs...)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// --- describe ---

var groupDescribeDoc = commandDoc{
	name:    "group describe",
	summary: "show a group's state, members and per-partition lag",
	usage:   "group describe GROUP... [flags]",
	detail: `Describe groups: a header line with the type, state, protocol or assignor
and member count, then one row per partition the group owns or has
committed: the committed offset (CURRENT-OFFSET), the end of the log
(LOG-END-OFFSET), the LAG between them, and the member consuming it.`,
	examples: []string{
		"runnel group describe orders-app",
		"runnel group describe orders-app billing",
	},
}

// groupView is what describe and reset-offsets need to know of a group,
// whichever protocol it speaks.
type groupView struct {
	name, kind, state, protocol string
	members                     int
	owner                       map[string]map[int32]ownerInfo
	exists                      bool
}

type ownerInfo struct{ member, clientID, host string }

// viewGroup describes a group as a KIP-848 group first, then as a classic
// group.
func viewGroup(ctx context.Context, adm *kadm.Client, name string) (*groupView, error) {
	v := &groupView{name: name, owner: map[string]map[int32]ownerInfo{}}
	own := func(topic string, p int32, o ownerInfo) {
		if v.owner[topic] == nil {
			v.owner[topic] = map[int32]ownerInfo{}
		}
		v.owner[topic][p] = o
	}
	cgs, err := adm.DescribeConsumerGroups(ctx, name)
	if cg, ok := cgs[name]; err == nil && ok && cg.Err == nil {
		v.kind, v.state, v.protocol, v.members, v.exists = "consumer", cg.State, cg.AssignorName, len(cg.Members), true
		for _, m := range cg.Members {
			m := m
			m.Assignment.Each(func(t string, p int32) { own(t, p, ownerInfo{m.MemberID, m.ClientID, m.ClientHost}) })
		}
		return v, nil
	}
	gs, err := adm.DescribeGroups(ctx, name)
	if err != nil {
		return nil, err
	}
	g, ok := gs[name]
	if !ok {
		return nil, fmt.Errorf("group %q: the broker did not answer for it", name)
	}
	if g.Err != nil {
		return nil, fmt.Errorf("group %q: %w", name, g.Err)
	}
	v.kind, v.state, v.protocol, v.members = "classic", g.State, g.Protocol, len(g.Members)
	v.exists = g.State != "Dead"
	for _, m := range g.Members {
		if a, ok := m.Assigned.AsConsumer(); ok {
			for _, t := range a.Topics {
				for _, p := range t.Partitions {
					own(t.Topic, p, ownerInfo{m.MemberID, m.ClientID, m.ClientHost})
				}
			}
		}
	}
	return v, nil
}

func runGroupDescribe(ctx context.Context, args []string, stdout io.Writer) error {
	names, client, err := parseGroupsCommand(groupDescribeDoc, args, stdout)
	if err != nil {
		return err
	}
	adm, ctx, done, err := client.openAdmin(ctx)
	if err != nil {
		return err
	}
	defer done()
	var errs []error
	first := true
	for _, name := range names {
		v, err := viewGroup(ctx, adm, name)
		if err == nil && !v.exists {
			err = fmt.Errorf("group %q does not exist", name)
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		committed, err := adm.FetchOffsets(ctx, name)
		if err != nil {
			errs = append(errs, fmt.Errorf("group %q: could not fetch its offsets: %w", name, err))
			continue
		}
		topics := map[string]bool{}
		for t := range v.owner {
			topics[t] = true
		}
		committed.Each(func(o kadm.OffsetResponse) { topics[o.Topic] = true })
		var ends kadm.ListedOffsets
		if len(topics) > 0 {
			list := make([]string, 0, len(topics))
			for t := range topics {
				list = append(list, t)
			}
			if ends, err = adm.ListEndOffsets(ctx, list...); err != nil {
				errs = append(errs, fmt.Errorf("group %q: could not list end offsets: %w", name, err))
				continue
			}
		}
		if !first {
			fmt.Fprintln(stdout)
		}
		first = false
		if err := writeGroupDescription(stdout, v, committed, ends); err != nil {
			return err
		}
	}
	return errors.Join(errs...)
}

// lagRow is one partition of a group description.
type lagRow struct {
	topic     string
	partition int32
	current   int64 // -1: nothing committed
	end       int64 // -1: unknown
	owner     ownerInfo
	hasOwner  bool
	commitErr error
	endErr    error
	lag       int64 // -1: unknown
}

func groupLagRows(v *groupView, committed kadm.OffsetResponses, ends kadm.ListedOffsets) []lagRow {
	rows := map[string]map[int32]*lagRow{}
	row := func(t string, p int32) *lagRow {
		if rows[t] == nil {
			rows[t] = map[int32]*lagRow{}
		}
		if rows[t][p] == nil {
			rows[t][p] = &lagRow{topic: t, partition: p, current: -1, end: -1, lag: -1}
		}
		return rows[t][p]
	}
	for t, ps := range v.owner {
		for p, o := range ps {
			r := row(t, p)
			r.owner, r.hasOwner = o, true
		}
	}
	committed.Each(func(o kadm.OffsetResponse) {
		r := row(o.Topic, o.Partition)
		r.current, r.commitErr = o.At, o.Err
	})
	var out []lagRow
	for t, ps := range rows {
		for p, r := range ps {
			if e, ok := ends.Lookup(t, p); ok {
				r.end, r.endErr = e.Offset, e.Err
			}
			if r.end >= 0 && r.endErr == nil {
				switch {
				case r.current >= 0:
					r.lag = max(r.end-r.current, 0)
				case r.end == 0:
					r.lag = 0
				}
			}
			out = append(out, *r)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].topic != out[j].topic {
			return out[i].topic < out[j].topic
		}
		return out[i].partition < out[j].partition
	})
	return out
}

func writeGroupDescription(w io.Writer, v *groupView, committed kadm.OffsetResponses, ends kadm.ListedOffsets) error {
	rows := groupLagRows(v, committed, ends)
	total := int64(0)
	for _, r := range rows {
		if r.lag > 0 {
			total += r.lag
		}
	}
	protoLabel := "Protocol"
	if v.kind == "consumer" {
		protoLabel = "Assignor"
	}
	fmt.Fprintf(w, "Group: %s\tType: %s\tState: %s\t%s: %s\tMembers: %d\tTotal lag: %d\n",
		v.name, v.kind, v.state, protoLabel, orDash(v.protocol), v.members, total)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TOPIC\tPARTITION\tCURRENT-OFFSET\tLOG-END-OFFSET\tLAG\tMEMBER\tCLIENT-ID\tHOST")
	for _, r := range rows {
		cur, end, lag := "-", "-", "-"
		if r.current >= 0 {
			cur = strconv.FormatInt(r.current, 10)
		}
		if r.end >= 0 {
			end = strconv.FormatInt(r.end, 10)
		}
		if r.lag >= 0 {
			lag = strconv.FormatInt(r.lag, 10)
		}
		member, client, host := "-", "-", "-"
		if r.hasOwner {
			member, client, host = r.owner.member, orDash(r.owner.clientID), orDash(r.owner.host)
		}
		line := fmt.Sprintf("%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s", r.topic, r.partition, cur, end, lag, member, client, host)
		if r.commitErr != nil {
			line += "\t" + r.commitErr.Error()
		} else if r.endErr != nil {
			line += "\t" + r.endErr.Error()
		}
		fmt.Fprintln(tw, line)
	}
	return tw.Flush()
}

// --- delete ---

var groupDeleteDoc = commandDoc{
	name:    "group delete",
	summary: "delete empty groups and their committed offsets",
	usage:   "group delete GROUP... [flags]",
	detail: `Delete groups with their committed offsets. A group with members cannot be
deleted (NON_EMPTY_GROUP): stop its consumers first. There is no
confirmation prompt and no undo.`,
	examples: []string{
		"runnel group delete orders-app",
	},
}

func runGroupDelete(ctx context.Context, args []string, stdout io.Writer) error {
	names, client, err := parseGroupsCommand(groupDeleteDoc, args, stdout)
	if err != nil {
		return err
	}
	adm, ctx, done, err := client.openAdmin(ctx)
	if err != nil {
		return err
	}
	defer done()
	resps, err := adm.DeleteGroups(ctx, names...)
	if err != nil {
		return fmt.Errorf("could not delete groups: %w", err)
	}
	return reportDeletes(stdout, "group", names, func(name string) (bool, error) {
		r, ok := resps[name]
		switch {
		case !ok:
			return false, nil
		case errors.Is(r.Err, kerr.NonEmptyGroup):
			return true, fmt.Errorf("group %q has active members; stop its consumers first (%w)", name, r.Err)
		case r.Err != nil:
			return true, fmt.Errorf("group %q: %w", name, r.Err)
		}
		return true, nil
	})
}

// --- reset-offsets ---

var groupResetDoc = commandDoc{
	name:    "group reset-offsets",
	summary: "move a group's committed offsets (dry run unless --execute)",
	usage:   "group reset-offsets GROUP (--topic TOPIC[:P,...]... | --all-topics) (--to-earliest | --to-latest | --to-offset N | --to-datetime TIME | --to-timestamp MS) [--execute] [flags]",
	detail: `Reset the committed offsets of a group, so its consumers resume from
somewhere else: the start or the end of each partition, a given offset
(clamped to what the partition holds), or the first record at or after a
time. Shows the CURRENT-OFFSET and NEW-OFFSET of each partition; nothing
changes without --execute. The group must have no active members (as
with Kafka's tool): stop its consumers first.

--topic takes a topic, or a topic and some partitions (orders:0,2); repeat
it for more. --all-topics takes every topic the group has committed.`,
	examples: []string{
		"runnel group reset-offsets orders-app --topic orders --to-earliest",
		"runnel group reset-offsets orders-app --topic orders:0,1 --to-offset 1000 --execute",
		"runnel group reset-offsets orders-app --all-topics --to-datetime 2025-01-01T00:00:00Z --execute",
	},
}

// resetTarget says where offsets move to.
type resetTarget struct {
	kind string // earliest, latest, offset, timestamp
	n    int64  // the offset, or the timestamp in unix milliseconds
}

type groupResetOptions struct {
	client    *clientFlags
	group     string
	topics    map[string][]int32 // nil partitions: all of them
	allTopics bool
	target    resetTarget
	execute   bool
}

func parseGroupReset(args []string, stdout io.Writer) (*groupResetOptions, error) {
	f := newFlagSet(groupResetDoc)
	o := &groupResetOptions{client: addClientFlags(f), topics: map[string][]int32{}}
	var topics stringList
	f.Var(&topics, "topic", "reset `TOPIC`, or TOPIC:P,P for some partitions; repeatable")
	f.BoolVar(&o.allTopics, "all-topics", false, "reset every topic the group has committed offsets for")
	earliest := f.Bool("to-earliest", false, "move to the start of each partition")
	latest := f.Bool("to-latest", false, "move to the end of each partition")
	offset := f.String("to-offset", "", "move to offset `N` (clamped to the partition's start and end)")
	datetime := f.String("to-datetime", "", "move to the first record at or after `TIME` (RFC 3339, e.g. 2025-01-01T00:00:00Z)")
	timestamp := f.String("to-timestamp", "", "move to the first record at or after `MS` (unix milliseconds)")
	f.BoolVar(&o.execute, "execute", false, "apply the new offsets (without it, only show them)")
	rest, err := f.parse(args, stdout)
	if err != nil {
		return nil, err
	}
	if err := o.client.validate(f); err != nil {
		return nil, err
	}
	switch len(rest) {
	case 0:
		return nil, f.usageErr("no group given")
	case 1:
		o.group = rest[0]
	default:
		return nil, f.usageErr("reset-offsets takes one group, got %d", len(rest))
	}
	if len(topics) == 0 && !o.allTopics {
		return nil, f.usageErr("name the topics to reset with --topic, or use --all-topics")
	}
	if len(topics) > 0 && o.allTopics {
		return nil, f.usageErr("--topic and --all-topics cannot be used together")
	}
	for _, t := range topics {
		name, parts, hasParts := strings.Cut(t, ":")
		if name == "" {
			return nil, f.usageErr("--topic %q has no topic name", t)
		}
		if !hasParts {
			o.topics[name] = nil
			continue
		}
		for _, s := range strings.Split(parts, ",") {
			p, err := strconv.ParseInt(strings.TrimSpace(s), 10, 32)
			if err != nil || p < 0 {
				return nil, f.usageErr("--topic %q: %q is not a partition number", t, s)
			}
			o.topics[name] = append(o.topics[name], int32(p))
		}
	}
	n := 0
	if *earliest {
		n++
		o.target = resetTarget{kind: "earliest"}
	}
	if *latest {
		n++
		o.target = resetTarget{kind: "latest"}
	}
	if *offset != "" {
		n++
		v, err := strconv.ParseInt(*offset, 10, 64)
		if err != nil || v < 0 {
			return nil, f.usageErr("--to-offset must be an offset, 0 or more; got %q", *offset)
		}
		o.target = resetTarget{kind: "offset", n: v}
	}
	if *datetime != "" {
		n++
		ts, err := time.Parse(time.RFC3339, *datetime)
		if err != nil {
			return nil, f.usageErr("--to-datetime %q is not an RFC 3339 time such as 2025-01-01T00:00:00Z", *datetime)
		}
		o.target = resetTarget{kind: "timestamp", n: ts.UnixMilli()}
	}
	if *timestamp != "" {
		n++
		v, err := strconv.ParseInt(*timestamp, 10, 64)
		if err != nil || v < 0 {
			return nil, f.usageErr("--to-timestamp must be unix milliseconds, 0 or more; got %q", *timestamp)
		}
		o.target = resetTarget{kind: "timestamp", n: v}
	}
	if n != 1 {
		return nil, f.usageErr("give exactly one of --to-earliest, --to-latest, --to-offset, --to-datetime, --to-timestamp")
	}
	return o, nil
}

func runGroupReset(ctx context.Context, args []string, stdout io.Writer) error {
	o, err := parseGroupReset(args, stdout)
	if err != nil {
		return err
	}
	adm, ctx, done, err := o.client.openAdmin(ctx)
	if err != nil {
		return err
	}
	defer done()

	v, err := viewGroup(ctx, adm, o.group)
	if err != nil {
		return err
	}
	if v.exists && v.members > 0 {
		return fmt.Errorf("group %q has %d active members (state %s); stop its consumers before resetting its offsets", o.group, v.members, v.state)
	}
	committed, err := adm.FetchOffsets(ctx, o.group)
	if err != nil {
		return fmt.Errorf("could not fetch the offsets of group %q: %w", o.group, err)
	}
	topics := o.topics
	if o.allTopics {
		topics = map[string][]int32{}
		committed.Each(func(r kadm.OffsetResponse) { topics[r.Topic] = nil })
		if len(topics) == 0 {
			return fmt.Errorf("group %q has no committed offsets; name the topics with --topic", o.group)
		}
	}
	names := make([]string, 0, len(topics))
	for t := range topics {
		names = append(names, t)
	}
	sort.Strings(names)
	starts, err := adm.ListStartOffsets(ctx, names...)
	if err != nil {
		return fmt.Errorf("could not list start offsets: %w", err)
	}
	ends, err := adm.ListEndOffsets(ctx, names...)
	if err != nil {
		return fmt.Errorf("could not list end offsets: %w", err)
	}
	var byTime kadm.ListedOffsets
	if o.target.kind == "timestamp" {
		if byTime, err = adm.ListOffsetsAfterMilli(ctx, o.target.n, names...); err != nil {
			return fmt.Errorf("could not list offsets by time: %w", err)
		}
	}
	plan, err := planReset(topics, o.target, committed, starts, ends, byTime)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TOPIC\tPARTITION\tCURRENT-OFFSET\tNEW-OFFSET")
	for _, r := range plan {
		cur := "-"
		if r.current >= 0 {
			cur = strconv.FormatInt(r.current, 10)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\n", r.topic, r.partition, cur, r.next)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if !o.execute {
		fmt.Fprintln(stdout, "Dry run: nothing changed. Add --execute to commit these offsets.")
		return nil
	}
	offsets := kadm.Offsets{}
	for _, r := range plan {
		offsets.Add(kadm.Offset{Topic: r.topic, Partition: r.partition, At: r.next, LeaderEpoch: -1})
	}
	resps, err := adm.CommitOffsets(ctx, o.group, offsets)
	if err != nil {
		return fmt.Errorf("could not commit offsets: %w", err)
	}
	var errs []error
	resps.Each(func(r kadm.OffsetResponse) {
		if r.Err != nil {
			errs = append(errs, fmt.Errorf("%s/%d: %w", r.Topic, r.Partition, r.Err))
		}
	})
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	fmt.Fprintf(stdout, "Committed %d offsets for group %q.\n", len(plan), o.group)
	return nil
}

// resetRow is one partition of a reset plan.
type resetRow struct {
	topic     string
	partition int32
	current   int64 // -1: nothing committed
	next      int64
}

// planReset computes the new offset of each partition. Partitions the
// topic does not have are errors; offsets are clamped to [start, end].
func planReset(topics map[string][]int32, target resetTarget, committed kadm.OffsetResponses,
	starts, ends, byTime kadm.ListedOffsets) ([]resetRow, error) {
	var plan []resetRow
	var errs []error
	for t, parts := range topics {
		if _, ok := ends[t]; !ok {
			errs = append(errs, fmt.Errorf("topic %q does not exist", t))
			continue
		}
		if parts == nil {
			for p := range ends[t] {
				parts = append(parts, p)
			}
		}
		for _, p := range parts {
			end, ok := ends.Lookup(t, p)
			start, ok2 := starts.Lookup(t, p)
			if !ok || !ok2 {
				errs = append(errs, fmt.Errorf("topic %q has no partition %d", t, p))
				continue
			}
			if end.Err != nil || start.Err != nil {
				errs = append(errs, fmt.Errorf("%s/%d: %w", t, p, errors.Join(end.Err, start.Err)))
				continue
			}
			r := resetRow{topic: t, partition: p, current: -1}
			if c, ok := committed.Lookup(t, p); ok && c.Err == nil {
				r.current = c.At
			}
			switch target.kind {
			case "earliest":
				r.next = start.Offset
			case "latest":
				r.next = end.Offset
			case "offset":
				r.next = target.n
			case "timestamp":
				r.next = end.Offset // no record at or after the time: the end
				if o, ok := byTime.Lookup(t, p); ok && o.Err == nil && o.Offset >= 0 {
					r.next = o.Offset
				}
			}
			r.next = min(max(r.next, start.Offset), end.Offset)
			plan = append(plan, r)
		}
	}
	sort.Slice(plan, func(i, j int) bool {
		if plan[i].topic != plan[j].topic {
			return plan[i].topic < plan[j].topic
		}
		return plan[i].partition < plan[j].partition
	})
	return plan, errors.Join(errs...)
}
