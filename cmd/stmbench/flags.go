package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"time"

	"gostm.dev/bench"
)

// seedFlag is -seed in every subcommand: an integer from 0 to
// bench.MaxSeed (2^53-1), so that a seed survives a trip through any JSON
// reader and reads the same everywhere.
type seedFlag struct {
	v   uint64
	set bool
}

func (s *seedFlag) String() string {
	if s == nil {
		return "0"
	}
	return strconv.FormatUint(s.v, 10)
}

func (s *seedFlag) Set(v string) error {
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil || n > bench.MaxSeed {
		return fmt.Errorf("a seed is an integer from 0 to %d (2^53-1)", uint64(bench.MaxSeed))
	}
	s.v, s.set = n, true
	return nil
}

// seedUsage ends the usage text of every -seed flag.
const seedUsage = "an integer `n` from 0 to 2^53-1"

// clockSeed picks a seed when the command line gives none (bank, santa):
// small enough to type back in, and printed by the caller.
func clockSeed() uint64 { return uint64(time.Now().UnixNano() % 1_000_000_000) }

// checkWritable makes sure that path can be written before a measurement
// whose results would go there starts: a bad path found after minutes of
// measuring loses them. It leaves an existing file as it was and removes
// the file it had to create.
func checkWritable(path string) error {
	_, statErr := os.Stat(path)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o666)
	if err != nil {
		return err
	}
	f.Close()
	if errors.Is(statErr, fs.ErrNotExist) {
		return os.Remove(path)
	}
	return nil
}
