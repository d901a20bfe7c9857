package httpserve_test

import (
	"fmt"
	"io"
	"net/http"

	"manta/internal/httpserve"
)

func Example() {
	s, err := httpserve.Start("127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "hello")
	}))
	if err != nil {
		panic(err)
	}
	defer s.Close()
	resp, err := http.Get("http://" + s.Addr() + "/")
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	fmt.Println(string(b))
	// Output: hello
}
