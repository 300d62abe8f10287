package pgserver

import (
	"fmt"
	"os"

	"github.com/mentordb/mentordb/internal/harness/tools"
)

// Tool returns the path of a client program (pg_dump, psql, ...) of the
// PostgreSQL 15 installation the local provider uses, found the same way
// (PG_BINDIR, pg_config, DefaultBinDir). A client of the default major reads
// a server of that major whichever provider runs it.
func Tool(name string) (string, error) {
	b, err := findBinaries(os.Getenv, runOutput, tools.Executable)
	if err != nil {
		return "", err
	}
	p := b.path(name)
	if !tools.Executable(p) {
		return "", fmt.Errorf("no executable %s", p)
	}
	return p, nil
}
