package main

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// table is a markdown table under construction.
type table struct {
	head []string
	rows [][]string
	text bool // every column holds text: align all left
}

func newTable(head ...string) *table { return &table{head: head} }

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

// write renders the table; the first column is left-aligned, the others
// right-aligned (they hold figures) unless the table holds text.
func (t *table) write(w io.Writer) {
	fmt.Fprintf(w, "| %s |\n", strings.Join(t.head, " | "))
	align := make([]string, len(t.head))
	for i := range align {
		align[i] = "---:"
		if i == 0 || t.text {
			align[i] = "---"
		}
	}
	fmt.Fprintf(w, "|%s|\n", strings.Join(align, "|"))
	for _, r := range t.rows {
		fmt.Fprintf(w, "| %s |\n", strings.Join(r, " | "))
	}
	fmt.Fprintln(w)
}

// dur formats a duration for a table: to the second from a minute up, to
// the millisecond below, to the microsecond below a millisecond.
func dur(d time.Duration) string {
	switch {
	case d >= time.Minute:
		return d.Round(time.Second).String()
	case d >= time.Millisecond:
		return d.Round(time.Millisecond).String()
	}
	return d.Round(time.Microsecond).String()
}

func itoa(n int) string { return fmt.Sprint(n) }

func f2(x float64) string { return fmt.Sprintf("%.2f", x) }

func f3(x float64) string { return fmt.Sprintf("%.3f", x) }

// pct formats part/whole as a percentage.
func pct(part, whole int) string {
	if whole == 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(part)/float64(whole))
}
