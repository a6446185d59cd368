package assignor

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/runnel-dev/runnel/plugins"
	"github.com/runnel-dev/runnel/sdk"
)

func topics(spec map[string]int) []sdk.TopicPartitions {
	var out []sdk.TopicPartitions
	for name, n := range spec {
		t := sdk.TopicPartitions{Topic: name, TopicID: [16]byte{byte(len(name)), name[0]}}
		for i := 0; i < n; i++ {
			t.Partitions = append(t.Partitions, int32(i))
		}
		out = append(out, t)
	}
	return out
}

func members(n int, subscribed ...string) []sdk.GroupMember {
	var out []sdk.GroupMember
	for i := 0; i < n; i++ {
		out = append(out, sdk.GroupMember{MemberID: fmt.Sprintf("m%02d", i), Subscribed: subscribed})
	}
	return out
}

// check verifies what every assignment must satisfy: each partition of a
// subscribed topic is assigned exactly once, to a subscriber.
func check(t *testing.T, in sdk.AssignmentInput, out sdk.Assignment) map[string]int {
	t.Helper()
	subs := map[string]map[string]bool{}
	for _, m := range in.Members {
		subs[m.MemberID] = map[string]bool{}
		for _, s := range m.Subscribed {
			subs[m.MemberID][s] = true
		}
	}
	seen := map[string]string{}
	counts := map[string]int{}
	for id, tps := range out.Members {
		if subs[id] == nil {
			t.Fatalf("assignment for unknown member %s", id)
		}
		for _, tp := range tps {
			if !subs[id][tp.Topic] {
				t.Fatalf("member %s got topic %s it does not subscribe to", id, tp.Topic)
			}
			for _, p := range tp.Partitions {
				k := fmt.Sprintf("%s-%d", tp.Topic, p)
				if other, dup := seen[k]; dup {
					t.Fatalf("%s assigned to %s and %s", k, other, id)
				}
				seen[k] = id
				counts[id]++
			}
		}
	}
	for _, tp := range in.Topics {
		subscribed := false
		for _, s := range subs {
			subscribed = subscribed || s[tp.Topic]
		}
		for _, p := range tp.Partitions {
			k := fmt.Sprintf("%s-%d", tp.Topic, p)
			if _, ok := seen[k]; subscribed && !ok {
				t.Fatalf("%s not assigned", k)
			}
		}
	}
	return counts
}

func spread(counts map[string]int, members []sdk.GroupMember) int {
	lo, hi := 1<<30, 0
	for _, m := range members {
		c := counts[m.MemberID]
		lo, hi = min(lo, c), max(hi, c)
	}
	return hi - lo
}

func TestRegistered(t *testing.T) {
	for _, name := range []string{"uniform", "range"} {
		a, err := plugins.NewAssignor(name)
		if err != nil || a.Name() != name {
			t.Fatalf("NewAssignor(%s): %v %v", name, a, err)
		}
	}
}

func TestBalancedHomogeneous(t *testing.T) {
	for _, a := range []sdk.Assignor{new(Uniform), new(Range)} {
		for _, c := range []struct{ members, partitions int }{{1, 1}, {3, 10}, {8, 64}, {10, 3}, {5, 5}} {
			in := sdk.AssignmentInput{Members: members(c.members, "a"), Topics: topics(map[string]int{"a": c.partitions})}
			out, err := a.Assign(in)
			if err != nil {
				t.Fatal(err)
			}
			if s := spread(check(t, in, out), in.Members); s > 1 {
				t.Errorf("%s %+v: counts spread by %d", a.Name(), c, s)
			}
			again, _ := a.Assign(in)
			if !reflect.DeepEqual(out, again) {
				t.Errorf("%s %+v: not deterministic", a.Name(), c)
			}
		}
	}
}

func TestRangeCoPartitions(t *testing.T) {
	in := sdk.AssignmentInput{Members: members(3, "a", "b"), Topics: topics(map[string]int{"a": 7, "b": 7})}
	out, _ := new(Range).Assign(in)
	check(t, in, out)
	for id, tps := range out.Members {
		if len(tps) != 2 || !reflect.DeepEqual(tps[0].Partitions, tps[1].Partitions) {
			t.Errorf("member %s: %+v, want the same partitions of a and b", id, tps)
		}
	}
	if got := out.Members["m00"][0].Partitions; !reflect.DeepEqual(got, []int32{0, 1, 2}) {
		t.Errorf("first member got %v, want [0 1 2]", got)
	}
}

// TestUniformSticky removes one member of eight: the seven others keep
// every partition they had and share the leaver's.
func TestUniformSticky(t *testing.T) {
	u := new(Uniform)
	in := sdk.AssignmentInput{Members: members(8, "t"), Topics: topics(map[string]int{"t": 64})}
	first, _ := u.Assign(in)
	check(t, in, first)
	in.Members = in.Members[1:]
	for i := range in.Members {
		in.Members[i].Owned = first.Members[in.Members[i].MemberID]
	}
	second, _ := u.Assign(in)
	counts := check(t, in, second)
	if s := spread(counts, in.Members); s > 1 {
		t.Fatalf("after a leave: spread %d", s)
	}
	for _, m := range in.Members {
		kept := map[int32]bool{}
		for _, p := range second.Members[m.MemberID][0].Partitions {
			kept[p] = true
		}
		for _, p := range m.Owned[0].Partitions {
			if !kept[p] {
				t.Errorf("member %s lost partition %d", m.MemberID, p)
			}
		}
	}
	// A member joins back: the others give up only what it needs.
	in.Members = append(in.Members, sdk.GroupMember{MemberID: "new", Subscribed: []string{"t"}})
	for i := range in.Members {
		in.Members[i].Owned = second.Members[in.Members[i].MemberID]
	}
	third, _ := u.Assign(in)
	counts = check(t, in, third)
	if counts["new"] != 8 || spread(counts, in.Members) != 0 {
		t.Fatalf("after a join: %v", counts)
	}
}

func TestUniformHeterogeneous(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	names := []string{"a", "b", "c", "d"}
	for round := 0; round < 200; round++ {
		spec := map[string]int{}
		for _, n := range names {
			spec[n] = r.IntN(12)
		}
		var ms []sdk.GroupMember
		for i := 0; i < 1+r.IntN(6); i++ {
			var subs []string
			for _, n := range names {
				if r.IntN(2) == 0 {
					subs = append(subs, n)
				}
			}
			ms = append(ms, sdk.GroupMember{MemberID: fmt.Sprint("m", i), Subscribed: subs})
		}
		in := sdk.AssignmentInput{Members: ms, Topics: topics(spec)}
		for _, a := range []sdk.Assignor{new(Uniform), new(Range)} {
			out, err := a.Assign(in)
			if err != nil {
				t.Fatal(err)
			}
			counts := check(t, in, out)
			if a.Name() != "uniform" {
				continue
			}
			// No partition could move to a subscriber with two fewer.
			for id, tps := range out.Members {
				for _, tp := range tps {
					for _, m := range ms {
						for _, s := range m.Subscribed {
							if s == tp.Topic && counts[m.MemberID] < counts[id]-1 {
								t.Fatalf("round %d: %s (%d) could give %s to %s (%d)", round, id, counts[id], tp.Topic, m.MemberID, counts[m.MemberID])
							}
						}
					}
				}
			}
		}
	}
}

func TestBadInput(t *testing.T) {
	in := sdk.AssignmentInput{Members: append(members(2, "a"), members(1, "a")...), Topics: topics(map[string]int{"a": 2})}
	for _, a := range []sdk.Assignor{new(Uniform), new(Range)} {
		if _, err := a.Assign(in); err == nil {
			t.Errorf("%s accepted a member listed twice", a.Name())
		}
	}
	empty, err := new(Uniform).Assign(sdk.AssignmentInput{})
	if err != nil || len(empty.Members) != 0 {
		t.Errorf("empty group: %v %v", empty, err)
	}
}

func BenchmarkUniform(b *testing.B) {
	in := sdk.AssignmentInput{Members: members(100, "a", "b", "c"), Topics: topics(map[string]int{"a": 300, "b": 300, "c": 400})}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := new(Uniform).Assign(in); err != nil {
			b.Fatal(err)
		}
	}
}
