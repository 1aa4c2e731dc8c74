package history

import (
	"context"
	"path/filepath"

	"github.com/ringproof/ringproof/conf"
)

// Open opens the history store c configures: PostgreSQL at
// c.PostgresURL with backend postgres, else the embedded database in
// dataDir (store.data_dir).
func Open(ctx context.Context, c conf.History, dataDir string) (Store, error) {
	if c.Backend == "postgres" {
		return OpenPostgres(ctx, c.PostgresURL)
	}
	return OpenEmbedded(ctx, filepath.Join(dataDir, EmbeddedFile))
}
