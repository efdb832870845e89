package store

import (
	"context"
	"log/slog"
	"time"

	"gorm.io/gorm/logger"
)

// slowQuery is how long a statement may take before it is logged.
const slowQuery = 200 * time.Millisecond

// queryLogger is GORM's logger for this package: it logs slow statements
// only, without their parameters (requests carry case content, which never
// goes to the log). Failed statements are not logged here: the error goes
// back to the caller, who decides whether it is a refusal (a taken username)
// or a failure worth logging.
type queryLogger struct {
	log *slog.Logger
}

var _ logger.Interface = queryLogger{}

// LogMode is part of logger.Interface; the level is fixed.
func (l queryLogger) LogMode(logger.LogLevel) logger.Interface { return l }

// Info is part of logger.Interface; GORM's informational messages are dropped.
func (l queryLogger) Info(context.Context, string, ...any) {}

// Warn logs GORM's warnings.
func (l queryLogger) Warn(ctx context.Context, msg string, data ...any) {
	l.log.WarnContext(ctx, "gorm: "+msg, "data", data)
}

// Error logs GORM's own errors (not those of statements).
func (l queryLogger) Error(ctx context.Context, msg string, data ...any) {
	l.log.ErrorContext(ctx, "gorm: "+msg, "data", data)
}

// Trace logs a statement that took longer than slowQuery.
func (l queryLogger) Trace(ctx context.Context, begin time.Time, fc func() (string, int64), _ error) {
	elapsed := time.Since(begin)
	if elapsed < slowQuery {
		return
	}
	sql, rows := fc()
	l.log.WarnContext(ctx, "slow query", "duration", elapsed, "sql", sql, "rows", rows)
}

// ParamsFilter drops the statement's parameters, so that Trace gets the SQL
// with placeholders only.
func (l queryLogger) ParamsFilter(_ context.Context, sql string, _ ...any) (string, []any) {
	return sql, nil
}
