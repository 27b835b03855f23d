//! Connection triage's lookups, per shard (issue 6): how many client
//! addresses one shard scores per second from its own slice of the RBL cache,
//! from another shard's slice over the mesh, and cold through the stub
//! resolver; the cache's own get and insert; and what a cached entry costs in
//! memory, so the default cap (`[rbl] cache_entries`) has a price in bytes.
//!
//! Everything is ringwall's own code as a shard runs it: `rbl::Triage` on a
//! glommio executor, three zones compiled from `ZoneConfig` (a Spamhaus ZEN
//! preset, a plain `[[dnsbl]]` and a DNSWL preset `[[dnswl]]`), the `[dns]`
//! and `[rbl]` defaults of the embedded configuration, and the project's DNSBL
//! emulator (`ringwall_loadgen::dnsbl`) on loopback as the recursive resolver.
//! Every address is clean (not listed anywhere), the common case of a client
//! whose mail is accepted. See benches/README.md for the figures.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::{Cell, RefCell};
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use glommio::timer::Timer;
use glommio::{LocalExecutor, LocalExecutorBuilder, Placement};
use ringwall::config::{Config, ZoneConfig, embedded_default};
use ringwall::dns::{Resolver, ResolverSettings};
use ringwall::rbl::{
    Cache, CacheLimits, Classification, ListKind, Preset, Triage, TriageMesh, TriageSettings, Zone,
    triage_mesh,
};
use ringwall_loadgen::dnsbl::{self, DnsblConfig, RunningDnsbl};

/// Counts the heap bytes each thread holds, so the memory a cache entry costs
/// is measured rather than estimated from `size_of` (which misses the hash
/// table's load factor and control bytes, the queue's growth and the strings
/// of listed answers). Per thread and without atomics, so the benchmarks'
/// other threads (the mesh peer, the emulator) pay nothing for it.
struct Counting;

thread_local! {
    /// Bytes this thread holds now.
    static LIVE: Cell<isize> = const { Cell::new(0) };
    /// The most `LIVE` has been since the last [`reset_peak`].
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

/// Adds `delta` to this thread's count. `try_with`: a thread being torn down
/// may still free memory.
fn note(delta: isize) {
    let _ = LIVE.try_with(|live| {
        let now = live.get() + delta;
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

// SAFETY: every call is passed to the system allocator unchanged; the
// counting only reads the layouts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            note(layout.size() as isize);
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            note(layout.size() as isize);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        note(-(layout.size() as isize));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            note(new_size as isize - layout.size() as isize);
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Heap bytes this thread holds.
fn live() -> isize {
    LIVE.with(Cell::get)
}

/// Starts a new peak from what is held now.
fn reset_peak() {
    PEAK.with(|peak| peak.set(live()));
}

/// The highest [`live`] since [`reset_peak`].
fn peak() -> isize {
    PEAK.with(Cell::get)
}

/// The process's resident set in bytes, from /proc: what the kernel really
/// gave, allocator overhead and untouched pages included or not.
fn rss() -> isize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|kib| {
            kib.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<isize>()
                .ok()
        })
        .map_or(0, |kib| kib * 1024)
}

/// The embedded default configuration: the `[rbl]` cache bounds and the
/// `[dns]` resolver settings every figure here runs with.
fn defaults() -> Config {
    embedded_default()
}

/// `[rbl]`'s cache bounds, as the server reads them (server/settings.rs).
fn cache_limits(config: &Config) -> CacheLimits {
    CacheLimits {
        min_ttl: config.rbl.cache_min_ttl.0,
        max_ttl: config.rbl.cache_max_ttl.0,
        entries: config.rbl.cache_entries as usize,
    }
}

/// A client address from a number: distinct numbers, distinct addresses, in
/// 10.0.0.0/8 (never loopback).
fn address(n: u32) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(0x0A00_0000 | (n & 0x00FF_FFFF)))
}

/// The three zones of every triage figure, compiled as the server compiles
/// `[[dnsbl]]` and `[[dnswl]]`: IP-keyed all three, so one client address
/// costs three cache entries and, cold, three DNS queries.
fn zones() -> Rc<[Zone]> {
    let zen = ZoneConfig {
        zone: "zen.test".into(),
        preset: Some(Preset::SpamhausZen),
        ..ZoneConfig::default()
    };
    let plain = ZoneConfig {
        zone: "bl.test".into(),
        weight: Some(2.0),
        ..ZoneConfig::default()
    };
    let allow = ZoneConfig {
        zone: "wl.test".into(),
        preset: Some(Preset::Dnswl),
        ..ZoneConfig::default()
    };
    [
        Zone::new(&zen, ListKind::Block),
        Zone::new(&plain, ListKind::Block),
        Zone::new(&allow, ListKind::Allow),
    ]
    .into_iter()
    .map(|zone| zone.expect("the zones compile"))
    .collect()
}

/// The DNSBL emulator answering the three zones, listing nothing (every
/// query gets NXDOMAIN), with a TTL of an hour so warm entries stay warm for
/// the whole run (the cache keeps them `cache_max_ttl` at most).
fn emulator() -> RunningDnsbl {
    dnsbl::start(DnsblConfig {
        listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        zones: ["zen.test", "bl.test", "wl.test"]
            .iter()
            .map(|zone| zone.parse().expect("a zone spec"))
            .collect(),
        ttl: 3600,
        ..DnsblConfig::default()
    })
    .expect("the DNSBL emulator starts")
}

/// Keeps the emulator alive under a long benchmark. Its executor serves UDP
/// and TCP in one task (`future::or`) beside a 10 ms stop-flag tick, and
/// glommio 0.9 adds a waker reference to a pending accept or receive every
/// time that task is polled (`Source::add_waiter_many`); 32,767 polls without
/// a TCP connection (about 2¾ minutes idle, or some 30,000 UDP queries) and
/// the emulator panics ("Waker invariant broken"). A TCP connection every
/// 100 ms completes the pending accept and a stray datagram the pending
/// receive, which drops what they held. It costs the emulator 20 wake-ups a
/// second, against tens of thousands of queries; the shard under test never
/// sees it.
struct Keeper {
    /// Set to stop the thread.
    stop: Arc<AtomicBool>,
    /// The thread, joined on drop.
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Keeper {
    /// Starts poking the emulator at `addr`.
    fn start(addr: SocketAddr) -> Keeper {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = std::thread::spawn({
            let stop = Arc::clone(&stop);
            move || {
                let udp =
                    std::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("a UDP socket");
                while !stop.load(Ordering::Relaxed) {
                    let _ = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1));
                    let _ = udp.send_to(&[0], addr);
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        });
        Keeper {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Keeper {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// `[dns]` as the server reads it (server/settings.rs), pointed at `server`.
fn resolver_settings(config: &Config, server: SocketAddr) -> ResolverSettings {
    let d = &config.dns;
    ResolverSettings {
        servers: vec![server],
        timeout: d.timeout.0,
        attempts: d.attempts,
        max_in_flight: d.max_in_flight as usize,
        sockets: d.sockets as usize,
        rotate_after: d.rotate_after,
    }
}

/// `[rbl]` as the server reads it, with `pass_ttl` chosen: zero makes every
/// warm score come from the answer cache (three gets), the default answers
/// a clean address from the pass list (one get).
fn triage_settings(config: &Config, pass_ttl: Duration) -> TriageSettings {
    TriageSettings {
        cache: cache_limits(config),
        pass_ttl,
        reject_threshold: config.rbl.reject_threshold,
    }
}

/// CPU time one thread has had, in nanoseconds, from the scheduler's own
/// account (`/proc/.../schedstat`, first field): exact, unlike the tick
/// counts of `stat`.
fn thread_cpu(path: &str) -> Duration {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let ns = text
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    Duration::from_nanos(ns)
}

/// The schedstat path of the emulator's thread (glommio names it
/// `dnsbl-N`), to tell whether the shard or the emulator limits the cold
/// figure.
fn emulator_thread() -> Option<String> {
    std::fs::read_dir("/proc/self/task")
        .ok()?
        .filter_map(Result::ok)
        .map(|task| task.path())
        .find(|task| {
            std::fs::read_to_string(task.join("comm")).is_ok_and(|comm| comm.starts_with("dnsbl"))
        })
        .map(|task| task.join("schedstat").display().to_string())
}

/// The CPU time of the calling thread.
fn my_cpu() -> Duration {
    thread_cpu("/proc/thread-self/schedstat")
}

/// Lookups and time spent over the measured calls of one triage benchmark,
/// warm-up included, beside criterion's wall-clock figure: how much CPU the
/// asking shard (and the owner, over the mesh) spent per lookup.
#[derive(Default)]
struct Tally {
    /// Addresses scored.
    lookups: u64,
    /// Wall time of those lookups.
    wall: Duration,
    /// CPU time of the asking shard's thread.
    cpu: Duration,
    /// CPU time of the other thread at work: the owning shard over the
    /// mesh, the emulator when cold.
    peer_cpu: Duration,
}

impl Tally {
    /// Prints what one lookup cost, in the terms benches/README.md quotes.
    fn report(&self, name: &str, peer: &str) {
        if self.lookups == 0 {
            return; // filtered out on the command line
        }
        let n = self.lookups.max(1) as f64;
        let per = |d: Duration| d.as_secs_f64() * 1e6 / n;
        let mut line = format!(
            "{name}: {} lookups, {:.0} lookups/s wall, asking shard {:.2} µs CPU/lookup \
             ({:.0} lookups per CPU-second)",
            self.lookups,
            n / self.wall.as_secs_f64(),
            per(self.cpu),
            n / self.cpu.as_secs_f64(),
        );
        if !self.peer_cpu.is_zero() {
            line += &format!(", {peer} {:.2} µs CPU/lookup", per(self.peer_cpu));
        }
        println!("{line}");
    }
}

/// Scores `count` addresses, `address(i)` for i in `0..count`, with
/// `in_flight` lookups at once (a task each, as the shard runs one per
/// connection; one at a time without a task when `in_flight` is 1), and
/// returns the wall time.
async fn score_many(
    triage: &Rc<Triage>,
    count: u64,
    in_flight: u64,
    address: Rc<dyn Fn(u64) -> IpAddr>,
) -> Duration {
    let started = Instant::now();
    if in_flight == 1 {
        for i in 0..count {
            black_box(triage.score(address(i)).await);
        }
        return started.elapsed();
    }
    let tasks: Vec<_> = (0..in_flight.min(count))
        .map(|first| {
            let triage = Rc::clone(triage);
            let address = Rc::clone(&address);
            glommio::spawn_local(async move {
                for i in (first..count).step_by(in_flight as usize) {
                    black_box(triage.score(address(i)).await);
                }
            })
        })
        .collect();
    for task in tasks {
        task.await;
    }
    started.elapsed()
}

/// A benchmark of `Triage::score` on `ex`: criterion's iterations are
/// lookups, timed on the wall clock; the asking thread's CPU (and that of
/// `peer`, a name and a schedstat path: the owner, the emulator) is added up
/// and printed per lookup.
fn bench_scores(
    c: &mut Criterion,
    ex: &LocalExecutor,
    name: &str,
    triage: &Rc<Triage>,
    in_flight: u64,
    address: Rc<dyn Fn(u64) -> IpAddr>,
    peer: Option<(&str, &str)>,
) {
    let tally = RefCell::new(Tally::default());
    let mut group = c.benchmark_group("triage_score");
    group.throughput(Throughput::Elements(1));
    group.bench_function(name, |b| {
        b.iter_custom(|iterations| {
            let (cpu, peer_cpu) = (my_cpu(), peer.map(|(_, path)| thread_cpu(path)));
            let wall = ex.run(score_many(
                triage,
                iterations,
                in_flight,
                Rc::clone(&address),
            ));
            let mut tally = tally.borrow_mut();
            tally.lookups += iterations;
            tally.wall += wall;
            tally.cpu += my_cpu() - cpu;
            if let (Some((_, path)), Some(before)) = (peer, peer_cpu) {
                tally.peer_cpu += thread_cpu(path) - before;
            }
            wall
        })
    });
    group.finish();
    tally.borrow().report(
        &format!("triage_score/{name}"),
        peer.map_or("", |(who, _)| who),
    );
}

/// `rbl::Cache` alone, at the default cap, as the owner shard's answer
/// cache: keys (zone index, address), values the classification.
fn cache(c: &mut Criterion) {
    let config = defaults();
    let limits = cache_limits(&config);
    let now = Instant::now();
    let ttl = Duration::from_secs(300);
    // Full: the default cap's worth of entries, three zones per address.
    let keys: Vec<(usize, IpAddr)> = (0..limits.entries as u32)
        .map(|n| ((n % 3) as usize, address(n / 3)))
        .collect();
    let mut cache = Cache::new(limits);
    for key in &keys {
        cache.insert(*key, Classification::NotListed, ttl, now);
    }
    assert_eq!(cache.len(), limits.entries);
    let mut group = c.benchmark_group("rbl_cache");
    group.throughput(Throughput::Elements(1));
    // A stride coprime with the key count walks every key in an order the
    // CPU's prefetchers cannot follow.
    let stride = 7919;
    let mut i = 0;
    group.bench_function("get_hit", |b| {
        b.iter(|| {
            i = (i + stride) % keys.len();
            assert!(cache.get(black_box(&keys[i]), now).is_some());
        })
    });
    // Each insert a new address: the oldest entry makes room (FIFO).
    let mut next = limits.entries as u32;
    group.bench_function("insert_evicting", |b| {
        b.iter(|| {
            next += 1;
            cache.insert(
                ((next % 3) as usize, address(next / 3)),
                Classification::NotListed,
                ttl,
                now,
            );
        })
    });
    group.finish();
}

/// Fills a fresh cache with `n` entries from `entry` and prints what it
/// holds: heap bytes counted by the allocator (and per entry), the peak while
/// filling (a hash table's growth holds the old and the new table at once),
/// and the change in resident memory.
fn fill_and_measure<K, V>(
    label: &str,
    n: usize,
    entry: impl Fn(u32) -> (K, V),
    refreshes: usize,
) -> f64
where
    K: Eq + std::hash::Hash + Clone,
{
    let now = Instant::now();
    let ttl = Duration::from_secs(300);
    // SAFETY: returns freed memory to the kernel; no preconditions.
    unsafe { libc::malloc_trim(0) };
    let (heap0, rss0) = (live(), rss());
    reset_peak();
    let mut cache = Cache::new(CacheLimits {
        min_ttl: Duration::from_secs(60),
        max_ttl: Duration::from_secs(3600),
        entries: n,
    });
    for i in 0..n as u32 {
        let (key, value) = entry(i);
        cache.insert(key, value, ttl, now);
    }
    // Refreshing keys already held leaves stale queue elements behind, up to
    // twice the entries before the queue is compacted: the queue's worst.
    for i in 0..refreshes as u32 {
        let (key, value) = entry((i.wrapping_mul(7919)) % n as u32);
        cache.insert(key, value, ttl, now);
    }
    assert_eq!(cache.len(), n);
    let heap = (live() - heap0) as f64;
    let peak = (peak() - heap0) as f64;
    let rss = (rss() - rss0) as f64;
    let mib = |b: f64| b / (1 << 20) as f64;
    println!(
        "memory/{label}/{n}: heap {:.1} MiB ({:.0} B/entry), peak while filling {:.1} MiB ({:.0} B/entry), RSS +{:.1} MiB ({:.0} B/entry)",
        mib(heap),
        heap / n as f64,
        mib(peak),
        peak / n as f64,
        mib(rss),
        rss / n as f64,
    );
    drop(black_box(cache));
    heap / n as f64
}

/// Memory per cached entry at the default cap and at ten times it, for the
/// answer cache (clean answers; listed ones, whose rule name is a string of
/// its own; after refreshes, the queue's worst) and for the pass list; and
/// what the default cap costs one shard. Prints only: the counting allocator
/// is exact, so there is nothing to sample.
fn memory(_: &mut Criterion) {
    // SAFETY: plain calls into glibc with valid arguments. A fixed mmap
    // threshold stops glibc raising it after each big free, so every big
    // table is its own mapping and the RSS figures compare; the trim returns
    // what earlier benchmarks freed.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
        libc::malloc_trim(0);
    }
    let cap = defaults().rbl.cache_entries as usize;
    let answer_key = |i: u32| ((i % 3) as usize, address(i / 3));
    let clean = |i: u32| (answer_key(i), Classification::NotListed);
    let listed = |i: u32| {
        let listing = Classification::Listed {
            weight: 3.0,
            code: Ipv4Addr::new(127, 0, 0, 2),
            rule: "RBL_ZEN_SBL".to_string(),
        };
        (answer_key(i), listing)
    };
    let pass = |i: u32| (address(i), ());
    println!(
        "memory: key (zone, address) {} B, Classification {} B, pass-list key {} B",
        size_of::<(usize, IpAddr)>(),
        size_of::<Classification>(),
        size_of::<IpAddr>()
    );
    let answers = fill_and_measure("answers_clean", cap, clean, 0);
    fill_and_measure("answers_clean", 10 * cap, clean, 0);
    fill_and_measure("answers_listed", cap, listed, 0);
    let worst = fill_and_measure("answers_clean_refreshed", cap, clean, cap);
    let passed = fill_and_measure("pass_list", cap, pass, 0);
    let worst_passed = fill_and_measure("pass_list_refreshed", cap, pass, cap);
    let mib = |b: f64| b * cap as f64 / (1 << 20) as f64;
    println!(
        "memory: the default cap ({cap} entries) costs one shard {:.1} MiB of answers + {:.1} MiB of pass list = {:.1} MiB; up to {:.1} MiB with refreshes",
        mib(answers),
        mib(passed),
        mib(answers + passed),
        mib(worst + worst_passed),
    );
}

/// The executor the asking shard runs on: this thread, on CPU 0 when there
/// are two CPUs (the mesh's peer takes CPU 1). Made before any peer, so
/// glommio numbers it 0 in the mesh (see `rbl::triage_mesh`).
fn executor() -> LocalExecutor {
    LocalExecutorBuilder::new(placement(0))
        .name("rbl-bench")
        .make()
        .expect("a glommio executor (io_uring, locked memory)")
}

/// `Fixed(cpu)` when the machine has that CPU, else unbound.
fn placement(cpu: usize) -> Placement {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cpu < cpus && cpus >= 2 {
        Placement::Fixed(cpu)
    } else {
        Placement::Unbound
    }
}

/// A shard's triage: its own resolver to the emulator, joined to `mesh`.
async fn join(
    me: usize,
    shards: usize,
    dns: SocketAddr,
    pass_ttl: Duration,
    mesh: Option<TriageMesh>,
) -> Rc<Triage> {
    let config = defaults();
    let resolver = Rc::new(Resolver::new(resolver_settings(&config, dns)));
    Triage::join(
        me,
        shards,
        zones(),
        resolver,
        triage_settings(&config, pass_ttl),
        mesh,
    )
    .await
}

/// Addresses scored warm: ten thousand clients (thirty thousand answer-cache
/// entries, some 8 MB of table and queue), more than a core's L2 cache
/// holds, as a busy shard's working set would be.
const WARM: u32 = 10_000;

/// Lookups in flight at once where concurrency matters: a shard with a few
/// dozen connections arriving together.
const IN_FLIGHT: u64 = 64;

/// `Triage::score` on one shard: from its own cache (and its pass list),
/// then cold through the stub resolver; then across two shards via the mesh.
fn triage(c: &mut Criterion) {
    let ex = executor();
    let dns = emulator();
    let stub = dns.local_addr();
    let keeper = Keeper::start(stub);
    let warm: Rc<[IpAddr]> = (0..WARM).map(|n| address(0x01_0000 + n)).collect();
    let warm_address: Rc<dyn Fn(u64) -> IpAddr> = {
        let warm = Rc::clone(&warm);
        Rc::new(move |i| warm[(i % warm.len() as u64) as usize])
    };

    // (a) One shard: every address is its own. pass_ttl 0: three answer-cache
    // gets per score; the default pass_ttl: one pass-list get.
    for (name, pass_ttl) in [
        ("local_cache", Duration::ZERO),
        ("local_pass_list", defaults().rbl.pass_ttl.0),
    ] {
        let triage = ex.run(join(0, 1, stub, pass_ttl, None));
        ex.run(score_many(
            &triage,
            WARM as u64,
            IN_FLIGHT,
            Rc::clone(&warm_address),
        ));
        let stats = triage.stats();
        assert_eq!(stats.started, WARM as u64, "one lookup per address");
        bench_scores(c, &ex, name, &triage, 1, Rc::clone(&warm_address), None);
        let stats = triage.stats();
        assert_eq!(stats.started, WARM as u64, "{name}: all warm");
        ex.run(async move { drop(triage) });
    }

    // (c) Cold: every score a new address, three DNS queries to the emulator.
    let triage = ex.run(join(0, 1, stub, Duration::ZERO, None));
    let next = Rc::new(Cell::new(0x80_0000u32));
    let fresh: Rc<dyn Fn(u64) -> IpAddr> = {
        let next = Rc::clone(&next);
        Rc::new(move |_| {
            next.set(next.get() + 1);
            address(next.get())
        })
    };
    let emulator = emulator_thread();
    let peer = emulator.as_deref().map(|path| ("emulator", path));
    bench_scores(c, &ex, "cold_stub_64", &triage, IN_FLIGHT, fresh, peer);
    let stats = triage.stats();
    println!(
        "triage_score/cold_stub_64: {} lookups started, {} DNS queries, {} timeouts, {} busy",
        stats.started, stats.dns.queries_sent, stats.dns.timeouts, stats.dns.busy
    );
    ex.run(async move { drop(triage) });

    // (b) Two shards: this thread is shard 0 and asks about addresses shard 1
    // (another thread, on the other CPU) owns.
    mesh(c, &ex, stub, &warm);
    drop(keeper);
    dns.stop();
    let _ = dns.wait();
}

/// The mesh case: shard 1 on a thread of its own answers for the addresses
/// it owns; shard 0, on the benchmark's executor, asks.
fn mesh(c: &mut Criterion, ex: &LocalExecutor, stub: SocketAddr, candidates: &[IpAddr]) {
    let builder = triage_mesh(2);
    let stop = Arc::new(AtomicBool::new(false));
    let (tid_tx, tid_rx) = std::sync::mpsc::channel();
    let peer = {
        let builder = builder.clone();
        let stop = Arc::clone(&stop);
        LocalExecutorBuilder::new(placement(1))
            .name("rbl-bench-peer")
            .spawn(move || async move {
                let triage = join(1, 2, stub, Duration::ZERO, builder).await;
                // SAFETY: gettid has no preconditions; it only reads.
                let _ = tid_tx.send(unsafe { libc::gettid() });
                while !stop.load(Ordering::Relaxed) {
                    Timer::new(Duration::from_millis(10)).await;
                }
                drop(triage);
            })
            .expect("the peer shard's executor")
    };
    let triage = ex.run(join(0, 2, stub, Duration::ZERO, builder));
    let peer_cpu = format!(
        "/proc/self/task/{}/schedstat",
        tid_rx.recv().expect("the peer's thread id")
    );
    // Which addresses shard 1 owns, from the public counters: scoring one
    // this shard owns starts a lookup here.
    let mut remote = Vec::new();
    for &ip in candidates {
        let started = triage.stats().started;
        ex.run(triage.score(ip));
        if triage.stats().started == started {
            remote.push(ip);
        }
    }
    assert!(
        remote.len() > candidates.len() / 3,
        "about half the addresses belong to the peer"
    );
    let remote: Rc<[IpAddr]> = remote.into();
    let address: Rc<dyn Fn(u64) -> IpAddr> = {
        let remote = Rc::clone(&remote);
        Rc::new(move |i| remote[(i % remote.len() as u64) as usize])
    };
    for (name, in_flight) in [("mesh_cache_1", 1), ("mesh_cache_64", IN_FLIGHT)] {
        bench_scores(
            c,
            ex,
            name,
            &triage,
            in_flight,
            Rc::clone(&address),
            Some(("owning shard", &peer_cpu)),
        );
    }
    assert_eq!(
        triage.stats().started as usize,
        candidates.len() - remote.len()
    );
    stop.store(true, Ordering::Relaxed);
    let _ = peer.join();
    ex.run(async move { drop(triage) });
}

criterion_group! {
    name = benches;
    // Text results only: the figures go to benches/README.md.
    config = Criterion::default().without_plots();
    targets = memory, cache, triage
}
criterion_main!(benches);
