package platform

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// Files is the embedded sql/platform, every file, in name order, byte for
// byte: the one copy conformance and services apply.
func TestFilesAreSQLPlatform(t *testing.T) {
	t.Parallel()
	files, err := Files()
	require.NoError(t, err)
	names, err := filepath.Glob(filepath.Join("..", "..", "sql", "platform", "*.sql"))
	require.NoError(t, err)
	require.NotEmpty(t, names)
	require.Len(t, files, len(names))
	for i, n := range names { // Glob sorts
		b, err := os.ReadFile(n)
		require.NoError(t, err)
		require.Equal(t, filepath.Base(n), files[i].Name)
		require.Equal(t, string(b), files[i].SQL)
	}
}
