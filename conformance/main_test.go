// Package conformance is the conformance matrix: every test proves, on a real
// PostgreSQL 15, the requirement IDs that its name carries (../shared/DESIGN.md).
package conformance

import (
	"os"
	"testing"

	"github.com/mentordb/mentordb/conformance/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, plansSeed, planVetSeed)) }
