package kernel

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/runnel-dev/runnel/kernel/admin"
	"github.com/runnel-dev/runnel/kernel/config"
	"github.com/runnel-dev/runnel/netio"
	"github.com/runnel-dev/runnel/sdk"
	"github.com/runnel-dev/runnel/segments"
)

// Options configure a Broker.
type Options struct {
	Config config.Broker
	// Logger receives the broker's logs; nil means slog.Default().
	Logger *slog.Logger
	// Assignors are the server-side assignors of KIP-848 consumer
	// groups, the first being the default. The kernel does not import
	// plugins: the caller resolves them (plugins.NewAssignor). None
	// leaves KIP-848 off: ConsumerGroupHeartbeat answers
	// UNSUPPORTED_VERSION and clients fall back to the classic protocol.
	Assignors []sdk.Assignor
	// Consensus stores the metadata log (topics, configs, producer id
	// blocks), opened on <first log dir>/__runnel_metadata. nil means the
	// single-node local log (segments/metalog, what consensus.local
	// resolves to). The broker owns it from New on and closes it.
	Consensus sdk.Consensus
	// Replicator decides each partition's committed offset (the high
	// watermark) from the offset its log is durable up to. nil means
	// every durable record is committed, as replication.none does,
	// without an interface call.
	Replicator sdk.Replicator
	// AdminEndpoints are extra GET endpoints of the admin listener, by
	// path, each answering what its function returns as JSON (runnel
	// serve adds /plugins).
	AdminEndpoints map[string]func() any
}

// Broker is one Runnel broker: its metadata image, its partitions and,
// once started, its listeners.
type Broker struct {
	cfg  config.Broker
	log  *slog.Logger
	apis []*api // indexed by API key; nil where not served

	// closing is closed when Close begins, so parked requests (long-poll
	// fetches) answer at once.
	closing   chan struct{}
	closeOnce sync.Once

	// metaMu serializes metadata changes (create, delete, configs,
	// producer id blocks) and guards meta, which they write through.
	metaMu    sync.Mutex
	meta      *metaLog
	clusterID string
	pids      producerIDs
	dirLoad   map[string]int // partitions per log dir, to place new ones

	repl sdk.Replicator // Options.Replicator; nil is replication.none
	// commitsLater says the replicator reports commits after LeaderDurable
	// answered (sdk.CommitNotifier): acks=all produces wait for them.
	commitsLater bool

	adminEndpoints map[string]func() any // Options.AdminEndpoints

	// mu guards topics and topicsByID. Topic and partition objects are
	// immutable once published here, except where their own fields say.
	mu         sync.RWMutex
	topics     map[string]*topic
	topicsByID map[[16]byte]*topic

	// server is set once Start has bound the listeners; requests may
	// arrive before that, so it is read atomically.
	server atomic.Pointer[netio.Server]
	admin  atomic.Pointer[admin.Server]

	coord *coordinator // the group coordinator, started by New
	// dirs are the open log dirs, by path as configured; each holds its
	// directory lock and its checkpoint files while the broker lives.
	dirs map[string]*segments.Dir
}

// closeDirs closes every log dir: the logs still open in it, a last
// checkpoint, the lock.
func (b *Broker) closeDirs() error {
	var errs []error
	for _, d := range b.dirs {
		if err := d.Close(); err != nil && !errors.Is(err, segments.ErrClosed) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// New opens the broker's data: the metadata log and every partition it
// names. It does not listen yet; call Start.
func New(opts Options) (*Broker, error) {
	cfg := opts.Config
	if len(cfg.LogDirs) == 0 {
		return nil, errors.New("no log.dirs configured")
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	b := &Broker{
		cfg:            cfg,
		log:            logger,
		closing:        make(chan struct{}),
		topics:         make(map[string]*topic),
		topicsByID:     make(map[[16]byte]*topic),
		dirLoad:        make(map[string]int),
		repl:           opts.Replicator,
		adminEndpoints: opts.AdminEndpoints,
	}
	for _, a := range apiTable() {
		for int(a.key) >= len(b.apis) {
			b.apis = append(b.apis, nil)
		}
		a := a
		b.apis[a.key] = &a
	}
	b.dirs = make(map[string]*segments.Dir, len(cfg.LogDirs))
	for _, path := range cfg.LogDirs {
		d, err := segments.OpenDir(path, nil, logger)
		if err != nil {
			_ = b.closeDirs()
			return nil, fmt.Errorf("log dir %s: %w", path, err)
		}
		b.dirs[path] = d
	}
	var commits *commitQueue
	if n, ok := opts.Replicator.(sdk.CommitNotifier); ok {
		// Before any partition opens (and calls LeaderDurable); what is
		// reported meanwhile waits in the queue.
		commits = newCommitQueue()
		n.SetCommitListener(commits.report)
		b.commitsLater = true
	}
	if err := b.loadMetadata(opts.Consensus); err != nil {
		_ = b.closeDirs()
		return nil, err
	}
	if commits != nil {
		go b.applyCommits(commits)
	}
	go b.flushLoop()
	b.coord = newCoordinator(b, opts.Assignors, nil)
	if err := b.coord.start(); err != nil {
		_ = b.Close(context.Background())
		return nil, fmt.Errorf("group coordinator: %w", err)
	}
	go b.maintenanceLoop()
	go b.cleanerLoop()
	return b, nil
}

// Start binds the listeners and begins serving requests.
func (b *Broker) Start() error {
	addrs := make([]string, len(b.cfg.Listeners))
	for i, l := range b.cfg.Listeners {
		addrs[i] = net.JoinHostPort(l.Host, strconv.Itoa(l.Port))
	}
	if a := b.cfg.AdminListener; a != "" {
		adm, err := admin.Listen(a, b.adminCounters, b.log)
		if err != nil {
			return err
		}
		for path, f := range b.adminEndpoints {
			adm.HandleJSON(path, f)
		}
		b.admin.Store(adm)
		b.log.Info("admin listener (/metrics, /stats, /debug/pprof)", "addr", adm.Addr().String())
	}
	srv, err := netio.Listen(netio.Config{
		Addrs:         addrs,
		MaxFrameBytes: b.cfg.SocketRequestMaxBytes,
		EventLoops:    b.cfg.NumNetworkThreads,
		Logger:        b.log,
		Handler:       b,
		CopyFiles:     !b.cfg.FetchZeroCopy,
	})
	if err != nil {
		if adm := b.admin.Load(); adm != nil {
			_ = adm.Shutdown(context.Background())
		}
		return err
	}
	b.server.Store(srv)
	for i, a := range srv.Addrs() {
		b.log.Info("listening", "listener", b.cfg.Listeners[i].Name, "addr", a.String())
	}
	return nil
}

// Addrs returns the bound address of each listener, in configuration
// order (useful when a port was 0).
func (b *Broker) Addrs() []net.Addr {
	if srv := b.server.Load(); srv != nil {
		return srv.Addrs()
	}
	return nil
}

// AdminAddr returns the admin listener's bound address, or nil when
// there is none.
func (b *Broker) AdminAddr() net.Addr {
	if adm := b.admin.Load(); adm != nil {
		return adm.Addr()
	}
	return nil
}

// adminCounters feeds the admin listener.
func (b *Broker) adminCounters() admin.Counters {
	var c admin.Counters
	if srv := b.server.Load(); srv != nil {
		st := srv.Stats()
		c.FetchSendfileBytes, c.FetchCopiedBytes = st.SendfileBytes, st.CopiedFileBytes
	}
	return c
}

// ClusterID returns the cluster id, made at first start and kept in the
// metadata log.
func (b *Broker) ClusterID() string { return b.clusterID }

// Close stops the broker gracefully: parked requests answer at once, the
// requests already received are answered (until ctx ends), then the
// listeners stop and every partition and the metadata log are closed.
func (b *Broker) Close(ctx context.Context) error {
	var errs []error
	b.closeOnce.Do(func() {
		close(b.closing)
		if srv := b.server.Load(); srv != nil {
			if err := srv.Shutdown(ctx); err != nil {
				errs = append(errs, err)
			}
		}
		if adm := b.admin.Load(); adm != nil {
			if err := adm.Shutdown(ctx); err != nil {
				errs = append(errs, fmt.Errorf("admin listener: %w", err))
			}
		}
		if b.coord != nil {
			b.coord.stop()
		}
		b.mu.Lock()
		for _, t := range b.topics {
			for _, p := range t.partitions {
				if err := p.closeAndSnapshot(); err != nil {
					errs = append(errs, fmt.Errorf("close %s: %w", p, err))
				}
			}
		}
		b.mu.Unlock()
		// Requests are answered or abandoned by now; an append still
		// waiting in the Consensus holds metaMu, so cancel it first.
		b.meta.abort()
		b.metaMu.Lock()
		if err := b.meta.close(); err != nil {
			errs = append(errs, err)
		}
		b.metaMu.Unlock()
		if err := b.closeDirs(); err != nil {
			errs = append(errs, err)
		}
	})
	return errors.Join(errs...)
}

func newUUID() [16]byte {
	var id [16]byte
	for {
		if _, err := rand.Read(id[:]); err != nil {
			panic(err) // crypto/rand never fails on Linux
		}
		// Kafka reserves the zero id and the one with only bit 0 set
		// (the "metadata topic" id), so draw again for those.
		if id != ([16]byte{}) && id != ([16]byte{15: 1}) {
			return id
		}
	}
}

// uuidString renders an id the way Kafka does: URL-safe base64, no padding.
func uuidString(id [16]byte) string { return base64.RawURLEncoding.EncodeToString(id[:]) }

func parseUUID(s string) ([16]byte, error) {
	var id [16]byte
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(raw) != 16 {
		return id, fmt.Errorf("bad id %q", s)
	}
	copy(id[:], raw)
	return id, nil
}
