package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
)

// Every subcommand parses its flags the same way, so that -h, -help and
// --help print the subcommand's usage once, to stdout, and exit 0, and a bad
// flag is one error line (printed by main) that points at -h, never the
// flag package's message plus the usage plus main's line.

// newFlags returns a flag set whose own output is silenced: parse reports.
func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parse parses args. On -h it writes usage and fs's flags to stdout and
// returns flag.ErrHelp (main exits 0 and prints nothing more). Positional
// arguments are an error: no subcommand takes any.
func parse(fs *flag.FlagSet, usage string, args []string, stdout io.Writer) error {
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, usage)
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		return flag.ErrHelp
	}
	if err != nil {
		return fmt.Errorf("%s: %w (see mentordb %s -h)", fs.Name(), err, fs.Name())
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected argument %q (see mentordb %s -h)", fs.Name(), fs.Arg(0), fs.Name())
	}
	return nil
}

// isHelp reports whether a verb position holds a request for help.
func isHelp(arg string) bool {
	switch arg {
	case "-h", "-help", "--help", "help":
		return true
	}
	return false
}
