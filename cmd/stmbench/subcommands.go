package main

import (
	"context"
	"io"
)

// demoCommands are the subcommands that the demo packages' issues add to
// stmbench (bank_cmd.go, santa_cmd.go): each parses its own flags, prints
// its own results and returns its exit status. They are listed here, in
// one place, rather than found by registration, because a command needs
// its whole flag set and output format, which the bench registry does not
// model.
var demoCommands = map[string]struct {
	run func(ctx context.Context, args []string, stdout, stderr io.Writer) int
	doc string
}{
	"bank":  {bankCommand, "the bank-account race in every synchronisation style, checked"},
	"santa": {santaCommand, "the Santa Claus problem on STM, with a trace checker"},
}
