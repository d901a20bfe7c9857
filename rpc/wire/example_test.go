package wire_test

import (
	"fmt"

	"manta/rpc/wire"
)

func Example() {
	parent := wire.TaskID{Hi: 1, Lo: 1}
	task := parent.Child(0)
	out := wire.Append(nil, &wire.Msg{Kind: wire.KindDone, Task: task, Data: []byte("42")})

	var in wire.Msg
	if err := wire.Decode(out, &in); err != nil {
		panic(err)
	}
	fmt.Println(in.Kind, in.Task == task, string(in.Data), wire.ReturnID(task).Index)
	// Output: Done true 42 1
}
