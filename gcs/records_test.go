package gcs

import (
	"errors"
	"testing"
)

func TestRecordsRoundTrip(t *testing.T) {
	var data []byte
	data = appendMember(data, AppendObjectLocation(nil, ObjectLocation{Node: "n1", Size: 1 << 20}))
	data = appendMember(data, AppendObjectLocation(nil, ObjectLocation{Node: "n2", Size: 7}))
	ls, err := ObjectLocations(data)
	if err != nil || len(ls) != 2 || ls[0] != (ObjectLocation{"n1", 1 << 20}) || ls[1].Node != "n2" {
		t.Fatalf("%+v %v", ls, err)
	}
	n, err := DecodeNodeInfo(AppendNodeInfo(nil, NodeInfo{Addr: "a", State: NodeDead, Resources: []byte("CPU=2")}))
	if err != nil || n.State != NodeDead || n.Addr != "a" || string(n.Resources) != "CPU=2" {
		t.Fatalf("%+v %v", n, err)
	}
	a, err := DecodeActorInfo(AppendActorInfo(nil, ActorInfo{Node: "n3", State: ActorRestarting, Restarts: 2}))
	if err != nil || a != (ActorInfo{"n3", ActorRestarting, 2}) {
		t.Fatalf("%+v %v", a, err)
	}
	for _, bad := range [][]byte{nil, {9, 0, 0}, {1, 5, 'a'}} {
		if _, err := DecodeNodeInfo(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("node info %x: %v", bad, err)
		}
		if _, err := DecodeActorInfo(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("actor info %x: %v", bad, err)
		}
	}
}
