package demo

import (
	"fmt"
	"io"
	"os"
)

// Summary is what each journey prints when it ends.
type Summary interface {
	Print(w io.Writer)
	// OK reports whether nothing was lost or duplicated.
	OK() bool
}

// Finish ends a journey's main: it prints err and exits 2, or prints the
// summary and exits 1 if anything was lost or duplicated, 0 otherwise.
func Finish[S Summary](s S, err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	s.Print(os.Stdout)
	if !s.OK() {
		os.Exit(1)
	}
}
