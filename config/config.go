// Package config is the server's settings: one struct with defaults, loaded
// from command-line flags, environment variables and an optional YAML file
// (a flag wins over the environment, which wins over the file), and checked
// at start so that a bad setting stops the server before it serves.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is every setting of the server.
type Config struct {
	// Addr is where the server listens, host:port.
	Addr string `yaml:"addr"`
	// DB is a SQLite file path, or a postgres:// URL selecting PostgreSQL.
	DB string `yaml:"db"`
	// JWTSecret signs access tokens; when empty a random one is generated
	// once and kept in the database.
	JWTSecret string `yaml:"jwt_secret"`
	// AuditKeyFile holds the key of the audit chain's HMAC. It lives outside
	// the database so that someone who can write the database cannot
	// recompute the chain after tampering with it.
	AuditKeyFile string `yaml:"audit_key_file"`
	// Demo seeds the demo world into an empty database.
	Demo bool `yaml:"demo"`
	// WebhookAllowPrivate lets webhooks deliver to loopback and private
	// addresses (a receiver inside the operator's own network, tests).
	// Off by default: a webhook is a request the server makes to a URL a
	// user chose, and must not reach what only the server can reach.
	WebhookAllowPrivate bool `yaml:"webhook_allow_private"`
	// TokenTTL is the lifetime of an access token.
	TokenTTL time.Duration `yaml:"-"` // token_ttl in YAML, as a duration string
	// RefreshTTL is the lifetime of a refresh token; each refresh starts a
	// new one. It is also the longest a web session lasts without a
	// refresh, and must be longer than TokenTTL.
	RefreshTTL time.Duration `yaml:"-"` // refresh_ttl in YAML, as a duration string
	// LogFormat is "text" or "json".
	LogFormat string `yaml:"log_format"`
	// VerifyAudit recomputes the whole audit chain at start-up, so that
	// tampering done while the server was down is reported at once (in the
	// log and by /readyz). Turn it off only for databases too large to
	// verify at every start, and verify them with "server audit verify".
	VerifyAudit bool `yaml:"verify_audit"`
	// TLSCert and TLSKey, both set, make the server speak HTTPS with this
	// certificate chain and key (PEM files).
	TLSCert string `yaml:"tls_cert"`
	TLSKey  string `yaml:"tls_key"`
	// DebugAddr, when set, is a loopback host:port where the server also
	// serves Go's profiler (net/http/pprof) and its write statistics, for
	// profiling. Off by default; refused unless on loopback, because
	// profiles show internals.
	DebugAddr string `yaml:"debug_addr"`
	// DocumentsDir is the directory of the case file's documents' bytes
	// (the metadata is in the database): documents/ beside the SQLite
	// database, data/documents with PostgreSQL, by default.
	DocumentsDir string `yaml:"documents_dir"`
	// MaxDocument is the size limit of one document, in bytes (25 MiB by
	// default, CONTRACT 6). It raises no other body's limit.
	MaxDocument int64 `yaml:"max_document"`
	// DocumentsS3 puts the documents' bytes in a bucket of an
	// S3-compatible store instead of DocumentsDir, when its Bucket is set.
	DocumentsS3 S3 `yaml:"documents_s3"`
}

// S3 says where an S3-compatible object store is and how to sign in.
type S3 struct {
	Endpoint  string `yaml:"endpoint"` // host:port
	Bucket    string `yaml:"bucket"`
	Prefix    string `yaml:"prefix"`
	Region    string `yaml:"region"`
	AccessKey string `yaml:"access_key"`
	SecretKey string `yaml:"secret_key"`
	// Insecure speaks plain HTTP (a store on a private network only).
	Insecure bool `yaml:"insecure"`
}

// DefaultMaxDocument is the size limit of one document, 25 MiB.
const DefaultMaxDocument = 25 << 20

// Defaults of the lifetimes that the server hands to internal/auth. They
// are plain values here, so that config imports no package of the program
// (it is a leaf: every other package may read settings, and settings know
// nothing of them); cmd/server's tests hold them equal to auth's own
// defaults, which apply where no setting is given (tests, tools).
const (
	// DefaultTokenTTL is the lifetime of an access token: short, so that a
	// token that leaks is worth little (a log-out ends it at once anyway).
	DefaultTokenTTL = 15 * time.Minute
	// DefaultRefreshTTL is a working day: a client in use refreshes and
	// stays signed in, one left overnight signs in again; a stolen refresh
	// token is worth at most that long, and less once its owner refreshes.
	DefaultRefreshTTL = 8 * time.Hour
)

// Defaults returns the settings used when nothing else is given.
func Defaults() Config {
	return Config{
		Addr:        ":8080",
		DB:          filepath.Join("data", "mla.db"),
		TokenTTL:    DefaultTokenTTL,
		RefreshTTL:  DefaultRefreshTTL,
		LogFormat:   "text",
		VerifyAudit: true,
		MaxDocument: DefaultMaxDocument,
	}
}

// IsPostgres reports whether the database is PostgreSQL.
func (c Config) IsPostgres() bool {
	return strings.HasPrefix(c.DB, "postgres://") || strings.HasPrefix(c.DB, "postgresql://")
}

// setting ties one field to its flag and environment variable, so that the
// table below is the only list of settings. show, when set, prints the
// field's value, for the default that --help shows.
type setting struct {
	flag, env, usage string
	set              func(c *Config, v string) error
	show             func(c Config) string
}

var settings = []setting{
	{"addr", "MLA_ADDR", "listen address, host:port", func(c *Config, v string) error { c.Addr = v; return nil },
		func(c Config) string { return c.Addr }},
	{"db", "MLA_DB", "SQLite database path, or a postgres:// URL", func(c *Config, v string) error { c.DB = v; return nil },
		func(c Config) string { return c.DB }},
	{"jwt-secret", "MLA_JWT_SECRET", "secret that signs access tokens (default: generated once, kept in the database)", func(c *Config, v string) error { c.JWTSecret = v; return nil }, nil},
	{"audit-key-file", "MLA_AUDIT_KEY_FILE", "file with the audit chain key (default: audit.key beside the SQLite database, data/audit.key with PostgreSQL)", func(c *Config, v string) error { c.AuditKeyFile = v; return nil }, nil},
	{"demo", "MLA_DEMO", "seed the demo world into an empty database", func(c *Config, v string) error {
		b, err := parseBool(v)
		c.Demo = b
		return err
	}, nil},
	{"token-ttl", "MLA_TOKEN_TTL", "lifetime of access tokens, e.g. 15m", func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		c.TokenTTL = d
		return err
	}, func(c Config) string { return c.TokenTTL.String() }},
	{"refresh-ttl", "MLA_REFRESH_TTL", "lifetime of refresh tokens (and longest idle web session), e.g. 8h", func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		c.RefreshTTL = d
		return err
	}, func(c Config) string { return c.RefreshTTL.String() }},
	{"log-format", "MLA_LOG_FORMAT", "log format: text or json", func(c *Config, v string) error { c.LogFormat = v; return nil },
		func(c Config) string { return c.LogFormat }},
	{"verify-audit", "MLA_VERIFY_AUDIT", "verify the audit chain at start-up; --verify-audit=false for huge databases", func(c *Config, v string) error {
		b, err := parseBool(v)
		c.VerifyAudit = b
		return err
	}, func(c Config) string { return strconv.FormatBool(c.VerifyAudit) }},
	{"tls-cert", "MLA_TLS_CERT", "PEM certificate chain for HTTPS (with --tls-key; default: plain HTTP)", func(c *Config, v string) error { c.TLSCert = v; return nil }, nil},
	{"tls-key", "MLA_TLS_KEY", "PEM private key for HTTPS (with --tls-cert)", func(c *Config, v string) error { c.TLSKey = v; return nil }, nil},
	{"documents-dir", "MLA_DOCUMENTS_DIR", "directory of the documents' bytes (default: documents beside the SQLite database, data/documents with PostgreSQL)", func(c *Config, v string) error { c.DocumentsDir = v; return nil }, nil},
	{"max-document", "MLA_MAX_DOCUMENT", "size limit of one document, in bytes or with KiB, MiB or GiB", func(c *Config, v string) error {
		n, err := parseSize(v)
		c.MaxDocument = n
		return err
	}, func(c Config) string { return strconv.FormatInt(c.MaxDocument, 10) }},
	{"documents-s3-endpoint", "MLA_DOCUMENTS_S3_ENDPOINT", "host:port of an S3-compatible store for the documents (with --documents-s3-bucket)", func(c *Config, v string) error { c.DocumentsS3.Endpoint = v; return nil }, nil},
	{"documents-s3-bucket", "MLA_DOCUMENTS_S3_BUCKET", "bucket of the documents in the S3-compatible store (default: none, the documents directory)", func(c *Config, v string) error { c.DocumentsS3.Bucket = v; return nil }, nil},
	{"documents-s3-prefix", "MLA_DOCUMENTS_S3_PREFIX", "prefix of the documents' object names in the bucket", func(c *Config, v string) error { c.DocumentsS3.Prefix = v; return nil }, nil},
	{"documents-s3-region", "MLA_DOCUMENTS_S3_REGION", "region of the S3-compatible store", func(c *Config, v string) error { c.DocumentsS3.Region = v; return nil }, nil},
	{"documents-s3-access-key", "MLA_DOCUMENTS_S3_ACCESS_KEY", "access key of the S3-compatible store", func(c *Config, v string) error { c.DocumentsS3.AccessKey = v; return nil }, nil},
	{"documents-s3-secret-key", "MLA_DOCUMENTS_S3_SECRET_KEY", "secret key of the S3-compatible store (better given by the environment)", func(c *Config, v string) error { c.DocumentsS3.SecretKey = v; return nil }, nil},
	{"documents-s3-insecure", "MLA_DOCUMENTS_S3_INSECURE", "speak plain HTTP to the S3-compatible store (private networks only)", func(c *Config, v string) error {
		b, err := parseBool(v)
		c.DocumentsS3.Insecure = b
		return err
	}, nil},
	{"webhook-allow-private", "MLA_WEBHOOK_ALLOW_PRIVATE", "let webhooks deliver to loopback and private addresses (default: refused)", func(c *Config, v string) error {
		b, err := parseBool(v)
		c.WebhookAllowPrivate = b
		return err
	}, nil},
	{"debug-addr", "MLA_DEBUG_ADDR", "loopback host:port of the profiling listener (pprof), e.g. 127.0.0.1:6060 (default: off)", func(c *Config, v string) error { c.DebugAddr = v; return nil }, nil},
}

func parseBool(v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "true", "yes", "on":
		return true, nil
	case "", "0", "false", "no", "off":
		return false, nil
	}
	return false, fmt.Errorf("%q is not a yes/no value", v)
}

// isSwitch tells the settings given as a bare flag (--demo).
func isSwitch(flag string) bool { return flag == "demo" || flag == "webhook-allow-private" }

// boolFlag lets --demo be given without a value, as usual for switches.
type boolFlag struct{ value *string }

func (b boolFlag) String() string     { return "" }
func (b boolFlag) Set(v string) error { *b.value = v; return nil }
func (b boolFlag) IsBoolFlag() bool   { return true }

// stringFlag is a setting's flag. It shows the setting's default, so that
// --help prints it; what is given is read from value, not through String.
type stringFlag struct {
	value *string
	def   string
}

func (s stringFlag) String() string     { return s.def }
func (s stringFlag) Set(v string) error { *s.value = v; return nil }

// Load registers the settings' flags (and --config) on fs, parses args, and
// resolves every setting: flag, else environment, else the YAML file, else
// the default. Flags a subcommand defines itself must be registered on fs
// before the call.
func Load(fs *flag.FlagSet, args []string, getenv func(string) string) (Config, error) {
	given := map[string]*string{}
	for _, s := range settings {
		v := new(string)
		given[s.flag] = v
		if isSwitch(s.flag) {
			fs.Var(boolFlag{v}, s.flag, s.usage+" (env "+s.env+")")
		} else {
			def := ""
			if s.show != nil {
				def = s.show(Defaults())
			}
			fs.Var(stringFlag{v, def}, s.flag, s.usage+" (env "+s.env+")")
		}
	}
	configFile := fs.String("config", "", "YAML settings file (env MLA_CONFIG)")
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	explicit := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { explicit[f.Name] = true })

	cfg := Defaults()
	path := *configFile
	if path == "" {
		path = getenv("MLA_CONFIG")
	}
	if path != "" {
		if err := loadFile(path, &cfg); err != nil {
			return Config{}, err
		}
	}
	for _, s := range settings {
		var v string
		var ok bool
		if explicit[s.flag] {
			v, ok = *given[s.flag], true
			if isSwitch(s.flag) && v == "" {
				v = "true"
			}
		} else if e := getenv(s.env); e != "" {
			v, ok = e, true
		}
		if !ok {
			continue
		}
		if err := s.set(&cfg, v); err != nil {
			return Config{}, fmt.Errorf("setting %s: %w", s.flag, err)
		}
	}
	if cfg.AuditKeyFile == "" {
		cfg.AuditKeyFile = defaultAuditKeyFile(cfg)
	}
	if cfg.DocumentsDir == "" {
		cfg.DocumentsDir = defaultDocumentsDir(cfg)
	}
	return cfg, cfg.Validate()
}

// defaultAuditKeyFile keeps the key beside a SQLite database, so that the
// database and its key move together on one machine but are distinct files.
func defaultAuditKeyFile(c Config) string {
	if c.IsPostgres() {
		return filepath.Join("data", "audit.key")
	}
	return filepath.Join(filepath.Dir(c.DB), "audit.key")
}

// defaultDocumentsDir keeps the documents beside a SQLite database, as its
// audit key is (CONTRACT 6).
func defaultDocumentsDir(c Config) string {
	if c.IsPostgres() {
		return filepath.Join("data", "documents")
	}
	return filepath.Join(filepath.Dir(c.DB), "documents")
}

// parseSize reads a size in bytes, or with a binary suffix: 25MiB, 512KiB.
func parseSize(v string) (int64, error) {
	s := strings.TrimSpace(v)
	mult := int64(1)
	for suffix, m := range map[string]int64{"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30} {
		if strings.HasSuffix(s, suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, suffix)), m
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%q is not a positive size", v)
	}
	return n * mult, nil
}

func loadFile(path string, cfg *Config) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read config: %w", err)
	}
	// A raw form first, so that durations can be written as "15m".
	var raw struct {
		Config     `yaml:",inline"`
		TokenTTL   string `yaml:"token_ttl"`
		RefreshTTL string `yaml:"refresh_ttl"`
	}
	raw.Config = *cfg
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&raw); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("config %s: %w", path, err)
	}
	*cfg = raw.Config
	if raw.TokenTTL != "" {
		d, err := time.ParseDuration(raw.TokenTTL)
		if err != nil {
			return fmt.Errorf("config %s: token_ttl: %w", path, err)
		}
		cfg.TokenTTL = d
	}
	if raw.RefreshTTL != "" {
		d, err := time.ParseDuration(raw.RefreshTTL)
		if err != nil {
			return fmt.Errorf("config %s: refresh_ttl: %w", path, err)
		}
		cfg.RefreshTTL = d
	}
	return nil
}

// Validate reports the first setting that cannot work. What makes a
// jwt-secret strong enough is auth's rule (auth.CheckSecret), which
// cmd/server applies as soon as the settings are loaded.
func (c Config) Validate() error {
	switch {
	case c.Addr == "":
		return errors.New("addr is empty")
	case c.DB == "":
		return errors.New("db is empty")
	case c.MaxDocument <= 0:
		return errors.New("max-document must be positive")
	case c.DocumentsS3.Bucket != "" && c.DocumentsS3.Endpoint == "":
		return errors.New("documents-s3-bucket needs documents-s3-endpoint")
	case c.TokenTTL < time.Minute || c.TokenTTL > 24*time.Hour:
		return fmt.Errorf("token-ttl %s is outside 1m..24h", c.TokenTTL)
	case c.RefreshTTL < 5*time.Minute || c.RefreshTTL > 30*24*time.Hour:
		return fmt.Errorf("refresh-ttl %s is outside 5m..720h", c.RefreshTTL)
	case c.RefreshTTL <= c.TokenTTL:
		return fmt.Errorf("refresh-ttl %s must be longer than token-ttl %s", c.RefreshTTL, c.TokenTTL)
	case (c.TLSCert == "") != (c.TLSKey == ""):
		return errors.New("tls-cert and tls-key go together")
	case c.LogFormat != "text" && c.LogFormat != "json":
		return fmt.Errorf("log-format %q is not text or json", c.LogFormat)
	case c.DebugAddr != "" && !isLoopbackAddr(c.DebugAddr):
		return fmt.Errorf("debug-addr %q must be a loopback host:port, such as 127.0.0.1:6060", c.DebugAddr)
	}
	return nil
}

// isLoopbackAddr reports whether addr is host:port with a loopback host:
// an address such as 127.0.0.1 or ::1, or the name localhost.
func isLoopbackAddr(addr string) bool {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// String prints the settings with secrets masked, for the start-up log.
func (c Config) String() string {
	secret := "(generated, kept in the database)"
	if c.JWTSecret != "" {
		secret = "(set, " + strconv.Itoa(len(c.JWTSecret)) + " characters)"
	}
	debug := c.DebugAddr
	if debug == "" {
		debug = "off"
	}
	tls := "off"
	if c.TLSCert != "" {
		tls = c.TLSCert
	}
	documents := c.DocumentsDir
	if b := c.DocumentsS3; b.Bucket != "" {
		documents = "s3://" + b.Endpoint + "/" + b.Bucket + "/" + b.Prefix // never the keys
	}
	return fmt.Sprintf("addr=%s db=%s jwt-secret=%s audit-key-file=%s demo=%t token-ttl=%s refresh-ttl=%s log-format=%s debug-addr=%s verify-audit=%t tls=%s documents=%s max-document=%d webhook-allow-private=%t",
		c.Addr, maskURL(c.DB), secret, c.AuditKeyFile, c.Demo, c.TokenTTL, c.RefreshTTL, c.LogFormat, debug, c.VerifyAudit, tls,
		documents, c.MaxDocument, c.WebhookAllowPrivate)
}

// maskURL hides the password of a database URL.
func maskURL(dsn string) string {
	at := strings.LastIndex(dsn, "@")
	scheme := strings.Index(dsn, "://")
	if at < 0 || scheme < 0 {
		return dsn
	}
	userinfo := dsn[scheme+3 : at]
	if colon := strings.Index(userinfo, ":"); colon >= 0 {
		return dsn[:scheme+3] + userinfo[:colon] + ":***" + dsn[at:]
	}
	return dsn
}
