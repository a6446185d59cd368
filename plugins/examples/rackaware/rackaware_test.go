package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/runnel-dev/runnel/sdk"
	"github.com/runnel-dev/runnel/sdk/plugintest"
)

func topic(name string, n int) sdk.TopicPartitions {
	t := sdk.TopicPartitions{Topic: name, TopicID: [16]byte{1, byte(len(name)), name[0]}}
	for p := range n {
		t.Partitions = append(t.Partitions, int32(p))
	}
	return t
}

func newMember(id, rack string, subscribed ...string) sdk.GroupMember {
	return sdk.GroupMember{MemberID: id, RackID: rack, Subscribed: subscribed}
}

// racksOf is the test's own reading of the documented rack ownership:
// the sorted distinct racks of a topic's subscribers, round-robin.
func racksOf(in sdk.AssignmentInput, topic string) []string {
	var racks []string
	for _, m := range in.Members {
		if slices.Contains(m.Subscribed, topic) && !slices.Contains(racks, m.RackID) {
			racks = append(racks, m.RackID)
		}
	}
	slices.Sort(racks)
	return racks
}

// topicView is one topic of an assignment, as verify saw it.
type topicView struct {
	owner  map[int32]string // partition → member id
	count  map[string]int   // subscriber → partitions of the topic
	racks  []string
	member map[string]sdk.GroupMember
}

func (v topicView) rackOf(p int32) string { return v.racks[int(p)%len(v.racks)] }

func (v topicView) local(p int32, id string) bool { return v.member[id].RackID == v.rackOf(p) }

func (v topicView) locals() int {
	n := 0
	for p, id := range v.owner {
		if v.local(p, id) {
			n++
		}
	}
	return n
}

// verify checks what every assignment must satisfy and returns it by
// topic: every member present, only subscribed topics, each partition of
// a subscribed topic exactly once, topics and partitions in order, and
// within each topic no subscriber more than one partition above another.
func verify(t *testing.T, in sdk.AssignmentInput, out sdk.Assignment) map[string]topicView {
	t.Helper()
	byID := map[string]sdk.GroupMember{}
	for _, m := range in.Members {
		byID[m.MemberID] = m
	}
	if len(out.Members) != len(byID) {
		t.Fatalf("assignment has %d members, input %d", len(out.Members), len(byID))
	}
	views := map[string]topicView{}
	ids := map[string][16]byte{}
	for _, tp := range in.Topics {
		ids[tp.Topic] = tp.TopicID
		views[tp.Topic] = topicView{owner: map[int32]string{}, count: map[string]int{}, racks: racksOf(in, tp.Topic), member: byID}
	}
	for id, tps := range out.Members {
		m, ok := byID[id]
		if !ok {
			t.Fatalf("assignment for unknown member %q", id)
		}
		if tps == nil {
			t.Errorf("member %q: nil assignment, want an empty one", id)
		}
		for i, tp := range tps {
			if i > 0 && tps[i-1].Topic >= tp.Topic {
				t.Errorf("member %q: topics out of order: %v", id, tps)
			}
			if !slices.Contains(m.Subscribed, tp.Topic) {
				t.Fatalf("member %q got topic %q it does not subscribe to", id, tp.Topic)
			}
			if tp.TopicID != ids[tp.Topic] {
				t.Errorf("member %q: topic %q has id %x, want %x", id, tp.Topic, tp.TopicID, ids[tp.Topic])
			}
			if len(tp.Partitions) == 0 || !slices.IsSorted(tp.Partitions) {
				t.Errorf("member %q: topic %q partitions %v, want some, ascending", id, tp.Topic, tp.Partitions)
			}
			v := views[tp.Topic]
			for _, p := range tp.Partitions {
				if other, dup := v.owner[p]; dup {
					t.Fatalf("%s-%d assigned to %q and %q", tp.Topic, p, other, id)
				}
				v.owner[p] = id
				v.count[id]++
			}
		}
	}
	for _, tp := range in.Topics {
		v := views[tp.Topic]
		var subs []string
		for _, m := range in.Members {
			if slices.Contains(m.Subscribed, tp.Topic) {
				subs = append(subs, m.MemberID)
			}
		}
		if len(subs) == 0 {
			if len(v.owner) != 0 {
				t.Fatalf("topic %q has no subscribers but is assigned", tp.Topic)
			}
			continue
		}
		for _, p := range tp.Partitions {
			if _, ok := v.owner[p]; !ok {
				t.Fatalf("%s-%d not assigned", tp.Topic, p)
			}
		}
		lo, hi := len(tp.Partitions), 0
		for _, id := range subs {
			lo, hi = min(lo, v.count[id]), max(hi, v.count[id])
		}
		if hi-lo > 1 {
			t.Fatalf("topic %q: subscribers hold between %d and %d partitions", tp.Topic, lo, hi)
		}
	}
	return views
}

// maxLocal is how many partitions of the topic a balanced assignment can
// give to a member of their rack: each rack fills its members' base
// shares, then the larger shares go to racks with partitions left over,
// at most one per member.
func maxLocal(in sdk.AssignmentInput, tp sdk.TopicPartitions) int {
	racks := racksOf(in, tp.Topic)
	if len(racks) == 0 {
		return 0
	}
	members := map[string]int{}
	subs := 0
	for _, m := range in.Members {
		if slices.Contains(m.Subscribed, tp.Topic) {
			members[m.RackID]++
			subs++
		}
	}
	parts := map[string]int{}
	for _, p := range tp.Partitions {
		parts[racks[int(p)%len(racks)]]++
	}
	base, extra := len(tp.Partitions)/subs, len(tp.Partitions)%subs
	local, wanted := 0, 0
	for _, r := range racks {
		local += min(parts[r], members[r]*base)
		wanted += min(max(0, parts[r]-members[r]*base), members[r])
	}
	return local + min(extra, wanted)
}

func mustAssign(t *testing.T, in sdk.AssignmentInput) sdk.Assignment {
	t.Helper()
	out, err := new(RackAware).Assign(in)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestEmpty(t *testing.T) {
	out := mustAssign(t, sdk.AssignmentInput{GroupID: "g"})
	if out.Members == nil || len(out.Members) != 0 {
		t.Errorf("no members: %#v, want an empty map", out)
	}
	in := sdk.AssignmentInput{Topics: []sdk.TopicPartitions{topic("a", 3)}}
	if out := mustAssign(t, in); len(out.Members) != 0 {
		t.Errorf("topics without members: %v", out)
	}
	in = sdk.AssignmentInput{Members: []sdk.GroupMember{newMember("m1", "r1", "a"), newMember("m2", "")}}
	out = mustAssign(t, in)
	verify(t, in, out)
	for id, tps := range out.Members {
		if len(tps) != 0 {
			t.Errorf("no topics: %s got %v", id, tps)
		}
	}
	in.Topics = []sdk.TopicPartitions{{Topic: "a"}}
	verify(t, in, mustAssign(t, in))
}

func TestBalance(t *testing.T) {
	for _, c := range []struct{ members, racks, partitions int }{
		{1, 1, 1}, {1, 1, 10}, {3, 1, 10}, {3, 3, 10}, {4, 2, 9}, {8, 3, 64},
		{10, 3, 3}, {5, 5, 5}, {6, 4, 7}, {7, 2, 100},
	} {
		t.Run(fmt.Sprintf("%d members %d racks %d partitions", c.members, c.racks, c.partitions), func(t *testing.T) {
			in := sdk.AssignmentInput{Topics: []sdk.TopicPartitions{topic("a", c.partitions), topic("b", c.partitions/2+1)}}
			for i := range c.members {
				in.Members = append(in.Members, newMember(fmt.Sprintf("m%02d", i), fmt.Sprint("r", i%c.racks), "a", "b"))
			}
			out := mustAssign(t, in)
			verify(t, in, out)
			// verify checked that each topic is balanced. With one rack
			// the larger shares of the two topics also go to different
			// members; with several, locality decides who gets them and
			// totals may differ by more.
			if c.racks > 1 {
				return
			}
			lo, hi := 1<<30, 0
			for _, tps := range out.Members {
				n := 0
				for _, tp := range tps {
					n += len(tp.Partitions)
				}
				lo, hi = min(lo, n), max(hi, n)
			}
			if hi-lo > 1 {
				t.Errorf("members hold between %d and %d partitions in all", lo, hi)
			}
		})
	}
}

func TestRackPreference(t *testing.T) {
	t.Run("even racks", func(t *testing.T) {
		in := sdk.AssignmentInput{Topics: []sdk.TopicPartitions{topic("t", 12)}}
		for _, r := range []string{"east", "north", "west"} {
			in.Members = append(in.Members, newMember(r+"-1", r, "t"), newMember(r+"-2", r, "t"))
		}
		out := mustAssign(t, in)
		if v := verify(t, in, out)["t"]; v.locals() != 12 {
			t.Errorf("%d of 12 partitions rack-local: %v", v.locals(), out.Members)
		}
		// racks east, north, west own partitions 0, 1, 2 mod 3.
		want := map[string][]int32{
			"east-1": {0, 6}, "east-2": {3, 9}, "north-1": {1, 7}, "north-2": {4, 10}, "west-1": {2, 8}, "west-2": {5, 11},
		}
		for id, ps := range want {
			if got := out.Members[id][0].Partitions; !slices.Equal(got, ps) {
				t.Errorf("%s got %v, want %v", id, got, ps)
			}
		}
	})
	t.Run("uneven racks", func(t *testing.T) {
		// Rack a owns the even partitions and has one member, whose
		// share of 2 caps it; b's three members take the rest.
		in := sdk.AssignmentInput{
			Topics:  []sdk.TopicPartitions{topic("t", 8)},
			Members: []sdk.GroupMember{newMember("a1", "a", "t"), newMember("b1", "b", "t"), newMember("b2", "b", "t"), newMember("b3", "b", "t")},
		}
		out := mustAssign(t, in)
		v := verify(t, in, out)["t"]
		if v.locals() != 6 || v.locals() != maxLocal(in, in.Topics[0]) {
			t.Errorf("%d rack-local, want 6: %v", v.locals(), out.Members)
		}
		if got := out.Members["a1"][0].Partitions; !slices.Equal(got, []int32{0, 2}) {
			t.Errorf("a1 got %v, want [0 2]", got)
		}
	})
	t.Run("no rack is a rack", func(t *testing.T) {
		// Racks "" and "r" own the even and the odd partitions.
		in := sdk.AssignmentInput{
			Topics:  []sdk.TopicPartitions{topic("t", 6)},
			Members: []sdk.GroupMember{newMember("x", "r", "t"), newMember("y", "", "t")},
		}
		out := mustAssign(t, in)
		verify(t, in, out)
		if got := out.Members["y"][0].Partitions; !slices.Equal(got, []int32{0, 2, 4}) {
			t.Errorf("rackless member got %v, want [0 2 4]", got)
		}
	})
	t.Run("larger shares go where they are local", func(t *testing.T) {
		// 5 partitions over 2 racks of 2: base 1, one larger share. Rack
		// a owns 0, 2, 4, so the larger share must go to a member of a.
		in := sdk.AssignmentInput{
			Topics:  []sdk.TopicPartitions{topic("t", 5)},
			Members: []sdk.GroupMember{newMember("b1", "b", "t"), newMember("b2", "b", "t"), newMember("a1", "a", "t"), newMember("a2", "a", "t")},
		}
		// Even when a b member owned the partitions before.
		in.Members[0].Owned = []sdk.TopicPartitions{{Topic: "t", Partitions: []int32{0, 1, 2, 3, 4}}}
		v := verify(t, in, mustAssign(t, in))["t"]
		if v.locals() != 5 {
			t.Errorf("%d of 5 rack-local: %v", v.locals(), v.owner)
		}
	})
}

func TestOnlySubscribed(t *testing.T) {
	in := sdk.AssignmentInput{
		Topics: []sdk.TopicPartitions{topic("a", 4), topic("b", 3), topic("orphan", 5)},
		Members: []sdk.GroupMember{
			newMember("m1", "r1", "a"),
			newMember("m2", "r2", "a", "b", "unknown"),
			newMember("m3", "r1", "b", "b"), // listed twice: still one subscription
			newMember("m4", "r2"),
		},
	}
	in.Members[3].Owned = []sdk.TopicPartitions{{Topic: "a", Partitions: []int32{0, 1}}} // not subscribed any more
	in.Members[0].Owned = []sdk.TopicPartitions{{Topic: "orphan", Partitions: []int32{0}}, {Topic: "a", Partitions: []int32{99}}}
	out := mustAssign(t, in)
	verify(t, in, out)
	if len(out.Members["m4"]) != 0 {
		t.Errorf("m4 subscribes to nothing but got %v", out.Members["m4"])
	}
	for id, tps := range out.Members {
		for _, tp := range tps {
			if tp.Topic == "orphan" || tp.Topic == "unknown" {
				t.Errorf("%s got %s", id, tp.Topic)
			}
		}
	}
}

func TestBadInput(t *testing.T) {
	for name, in := range map[string]sdk.AssignmentInput{
		"member twice": {
			Topics:  []sdk.TopicPartitions{topic("a", 2)},
			Members: []sdk.GroupMember{newMember("m1", "r", "a"), newMember("m2", "r", "a"), newMember("m1", "s", "a")},
		},
		"topic twice": {
			Topics:  []sdk.TopicPartitions{topic("a", 2), topic("a", 3)},
			Members: []sdk.GroupMember{newMember("m1", "r", "a")},
		},
		"partition twice": {
			Topics:  []sdk.TopicPartitions{{Topic: "a", Partitions: []int32{0, 1, 0}}},
			Members: []sdk.GroupMember{newMember("m1", "r", "a")},
		},
	} {
		if out, err := new(RackAware).Assign(in); err == nil {
			t.Errorf("%s: accepted, gave %v", name, out)
		}
	}
}

// TestNoMemberTwice feeds the assignor owned partitions that overlap
// between members: each still ends with one owner.
func TestNoMemberTwice(t *testing.T) {
	in := sdk.AssignmentInput{Topics: []sdk.TopicPartitions{topic("t", 6)}}
	for i := range 4 {
		m := newMember(fmt.Sprint("m", i), fmt.Sprint("r", i%2), "t")
		m.Owned = []sdk.TopicPartitions{{Topic: "t", Partitions: []int32{0, 1, 2, 3, 4, 5}}}
		in.Members = append(in.Members, m)
	}
	verify(t, in, mustAssign(t, in))
}

func TestDeterministic(t *testing.T) {
	in := sdk.AssignmentInput{Topics: []sdk.TopicPartitions{topic("a", 17), topic("b", 5), topic("c", 9)}}
	for i := range 7 {
		m := newMember(fmt.Sprint("m", i), fmt.Sprint("r", i%3), "a", "b", "c")
		m.Owned = []sdk.TopicPartitions{{Topic: "a", Partitions: []int32{int32(i), int32(2 * i), int32(16 - i)}}}
		in.Members = append(in.Members, m)
	}
	first := mustAssign(t, in)
	verify(t, in, first)
	r := rand.New(rand.NewPCG(7, 7))
	for range 20 {
		shuffled := shuffle(r, in)
		if got := mustAssign(t, shuffled); !reflect.DeepEqual(got, first) {
			t.Fatalf("same input in another order gave\n%v\nwant\n%v", got, first)
		}
	}
}

// shuffle returns in with its members, topics, partitions and owned
// partitions in a random order.
func shuffle(r *rand.Rand, in sdk.AssignmentInput) sdk.AssignmentInput {
	out := sdk.AssignmentInput{GroupID: in.GroupID}
	for _, tp := range in.Topics {
		tp.Partitions = slices.Clone(tp.Partitions)
		r.Shuffle(len(tp.Partitions), func(i, j int) { tp.Partitions[i], tp.Partitions[j] = tp.Partitions[j], tp.Partitions[i] })
		out.Topics = append(out.Topics, tp)
	}
	r.Shuffle(len(out.Topics), func(i, j int) { out.Topics[i], out.Topics[j] = out.Topics[j], out.Topics[i] })
	for _, m := range in.Members {
		m.Subscribed = slices.Clone(m.Subscribed)
		r.Shuffle(len(m.Subscribed), func(i, j int) { m.Subscribed[i], m.Subscribed[j] = m.Subscribed[j], m.Subscribed[i] })
		var owned []sdk.TopicPartitions
		for _, o := range m.Owned {
			o.Partitions = slices.Clone(o.Partitions)
			r.Shuffle(len(o.Partitions), func(i, j int) { o.Partitions[i], o.Partitions[j] = o.Partitions[j], o.Partitions[i] })
			owned = append(owned, o)
		}
		m.Owned = owned
		out.Members = append(out.Members, m)
	}
	r.Shuffle(len(out.Members), func(i, j int) { out.Members[i], out.Members[j] = out.Members[j], out.Members[i] })
	return out
}

// owning returns in's members with the partitions out gives them as Owned.
func owning(in sdk.AssignmentInput, out sdk.Assignment) []sdk.GroupMember {
	ms := slices.Clone(in.Members)
	for i := range ms {
		ms[i].Owned = out.Members[ms[i].MemberID]
	}
	return ms
}

// TestSticky runs a group through a leave and a join: members keep the
// partitions they had except those balance makes them give up.
func TestSticky(t *testing.T) {
	in := sdk.AssignmentInput{Topics: []sdk.TopicPartitions{topic("t", 24)}}
	for i := range 6 {
		in.Members = append(in.Members, newMember(fmt.Sprint("m", i), fmt.Sprint("r", i%3), "t"))
	}
	first := mustAssign(t, in)
	verify(t, in, first)

	in.Members = owning(in, first)
	if again := mustAssign(t, in); !reflect.DeepEqual(again, first) {
		t.Fatalf("fed its own assignment back, the assignor moved partitions:\n%v\nwant\n%v", again, first)
	}

	// m0 leaves: every other member keeps all it had.
	in.Members = in.Members[1:]
	second := mustAssign(t, in)
	verify(t, in, second)
	for _, m := range in.Members {
		for _, p := range m.Owned[0].Partitions {
			if !slices.Contains(second.Members[m.MemberID][0].Partitions, p) {
				t.Errorf("after m0 left, %s lost partition %d", m.MemberID, p)
			}
		}
	}

	// m0 is back: it takes 4 partitions, and nobody else moves.
	in.Members = append(owning(in, second), newMember("m0", "r0", "t"))
	third := mustAssign(t, in)
	v := verify(t, in, third)["t"]
	moved := 0
	for _, m := range in.Members {
		for _, p := range m.Owned {
			for _, part := range p.Partitions {
				if v.owner[part] != m.MemberID {
					moved++
				}
			}
		}
	}
	if v.count["m0"] != 4 || moved != 4 || v.locals() != 24 {
		t.Errorf("after m0 came back: m0 has %d, %d moved, %d rack-local: %v", v.count["m0"], moved, v.locals(), v.owner)
	}
}

// TestStickyRemote: a partition no member of its rack has room for stays
// with the member that owns it, rather than going to the first member by
// id with room.
func TestStickyRemote(t *testing.T) {
	// Rack a (a1) owns 0, 2, 4, 6 and rack b (b1, b2) 1, 3, 5, 7; with a
	// share of 2 or 3 each, one partition of a must go to b.
	in := sdk.AssignmentInput{
		Topics:  []sdk.TopicPartitions{topic("t", 8)},
		Members: []sdk.GroupMember{newMember("a1", "a", "t"), newMember("b1", "b", "t"), newMember("b2", "b", "t")},
	}
	owned := map[string][]int32{"a1": {0, 2, 4}, "b1": {1, 5}, "b2": {3, 6, 7}}
	for i, m := range in.Members {
		in.Members[i].Owned = []sdk.TopicPartitions{{Topic: "t", Partitions: owned[m.MemberID]}}
	}
	out := mustAssign(t, in)
	verify(t, in, out)
	for id, ps := range owned {
		if got := out.Members[id][0].Partitions; !slices.Equal(got, ps) {
			t.Errorf("%s got %v, want to keep %v", id, got, ps)
		}
	}
}

// TestRandom checks the documented properties on random groups: valid
// and balanced, as rack-local as a balanced assignment can be, the same
// whatever the input order, unchanged when fed back, and sticky for
// rack-local partitions when a member leaves.
func TestRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	names := []string{"a", "b", "c", "d"}
	racks := []string{"", "r1", "r2", "r3"}
	rounds := 1000
	if testing.Short() {
		rounds = 100
	}
	for round := range rounds {
		in := sdk.AssignmentInput{GroupID: fmt.Sprint("g", round)}
		for _, n := range names {
			if r.IntN(5) > 0 {
				in.Topics = append(in.Topics, topic(n, r.IntN(20)))
			}
		}
		for i := range 1 + r.IntN(8) {
			m := newMember(fmt.Sprint("m", i), racks[r.IntN(1+r.IntN(len(racks)))])
			for _, n := range names {
				if r.IntN(3) > 0 {
					m.Subscribed = append(m.Subscribed, n)
				}
				if r.IntN(3) == 0 {
					m.Owned = append(m.Owned, sdk.TopicPartitions{Topic: n, Partitions: []int32{int32(r.IntN(25)), int32(r.IntN(25))}})
				}
			}
			in.Members = append(in.Members, m)
		}
		out := mustAssign(t, in)
		views := verify(t, in, out)
		for _, tp := range in.Topics {
			if got, want := views[tp.Topic].locals(), maxLocal(in, tp); got != want {
				t.Fatalf("round %d: topic %s: %d rack-local, a balanced assignment can have %d\n%+v\n%v",
					round, tp.Topic, got, want, in, out)
			}
		}
		if got := mustAssign(t, shuffle(r, in)); !reflect.DeepEqual(got, out) {
			t.Fatalf("round %d: same input in another order gave another assignment", round)
		}
		fed := in
		fed.Members = owning(in, out)
		if again := mustAssign(t, fed); !reflect.DeepEqual(again, out) {
			t.Fatalf("round %d: fed its own assignment back, the assignor moved partitions:\n%v\nwant\n%v", round, again, out)
		}

		// A member leaves: the others keep every rack-local partition of
		// a topic whose rack set stays the same.
		if len(fed.Members) < 2 {
			continue
		}
		left := fed
		left.Members = slices.Delete(slices.Clone(fed.Members), 0, 1)
		after := mustAssign(t, left)
		afterViews := verify(t, left, after)
		for _, tp := range in.Topics {
			before, now := views[tp.Topic], afterViews[tp.Topic]
			if !slices.Equal(before.racks, now.racks) {
				continue
			}
			for p, id := range before.owner {
				if id != in.Members[0].MemberID && before.local(p, id) && now.owner[p] != id {
					t.Fatalf("round %d: %s-%d was rack-local at %s, moved to %s when %s left",
						round, tp.Topic, p, id, now.owner[p], in.Members[0].MemberID)
				}
			}
		}
	}
}

func TestLogLine(t *testing.T) {
	var buf bytes.Buffer
	a := &RackAware{Logger: slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{ReplaceAttr: hclogKeys}))}
	in := sdk.AssignmentInput{
		GroupID: "orders",
		Topics:  []sdk.TopicPartitions{topic("t", 4)},
		Members: []sdk.GroupMember{newMember("m1", "r1", "t"), newMember("m2", "r2", "t"), newMember("m3", "r1", "t")},
	}
	if _, err := a.Assign(in); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("want one line per assignment, got %q", buf.String())
	}
	var line map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &line); err != nil {
		t.Fatal(err)
	}
	if line["@message"] != "assignment" || line["@level"] != "info" || line["group"] != "orders" || line["members"] != 3.0 || line["partitions"] != 4.0 {
		t.Errorf("log line %s", lines[0])
	}
	if ts, _ := line["@timestamp"].(string); ts == "" {
		t.Errorf("log line %s has no @timestamp", lines[0])
	} else if _, err := time.Parse(hclogTime, ts); err != nil {
		t.Errorf("go-plugin cannot parse the timestamp: %v", err)
	}

	buf.Reset()
	in.Members = append(in.Members, in.Members[0])
	if _, err := a.Assign(in); err == nil || !strings.Contains(buf.String(), `"@level":"warn"`) {
		t.Errorf("refused input: err %v, log %s", err, buf.String())
	}
}

func TestPlugin(t *testing.T) {
	p := plugin(nil)
	if err := p.Check(); err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(p.Describe())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(out, []byte(`{"id":"assignor.rackaware","point":"assignor",`)) {
		t.Errorf("describe: %s", out)
	}
	if name := p.Impl.(sdk.Assignor).Name(); name != "rackaware" {
		t.Errorf("name %q", name)
	}
}

// TestConformance runs the sdk's assignor suite against RackAware in
// process, over gRPC in memory and as the plugin binary the broker runs.
func TestConformance(t *testing.T) {
	t.Run("builtin", func(t *testing.T) {
		plugintest.TestAssignor(t, func() sdk.Assignor { return new(RackAware) })
	})
	t.Run("grpc", func(t *testing.T) {
		plugintest.TestAssignor(t, func() sdk.Assignor {
			return plugintest.InMemory[sdk.Assignor](t, sdk.PointAssignor, new(RackAware))
		})
	})
	t.Run("process", func(t *testing.T) {
		gotool, err := exec.LookPath("go")
		if err != nil {
			t.Skip("no go tool to build the plugin with")
		}
		bin := filepath.Join(t.TempDir(), "rackaware")
		if out, err := exec.Command(gotool, "build", "-o", bin, ".").CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
		out, err := exec.Command(bin, "describe").Output()
		if err != nil || !bytes.HasPrefix(out, []byte(`{"id":"assignor.rackaware","point":"assignor",`)) {
			t.Fatalf("rackaware describe: %v: %s", err, out)
		}
		plugintest.TestAssignor(t, func() sdk.Assignor {
			return plugintest.Subprocess[sdk.Assignor](t, sdk.PointAssignor, exec.Command(bin))
		})
	})
}

func BenchmarkAssign(b *testing.B) {
	in := sdk.AssignmentInput{Topics: []sdk.TopicPartitions{topic("a", 300), topic("b", 300), topic("c", 400)}}
	for i := range 100 {
		in.Members = append(in.Members, newMember(fmt.Sprintf("m%03d", i), fmt.Sprint("r", i%3), "a", "b", "c"))
	}
	first, err := new(RackAware).Assign(in)
	if err != nil {
		b.Fatal(err)
	}
	in.Members = owning(in, first)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := new(RackAware).Assign(in); err != nil {
			b.Fatal(err)
		}
	}
}
