//! `kratix-fuzz`: feeds mutated inputs to the parsers and rules that read what
//! pipelines, tenants and state stores write, for a time per target, and fails
//! on a panic, an input that takes too long or a memory peak past a bound. The
//! inputs grow from the seed corpus under `fuzz/corpus/<target>/`; a failing
//! input is written to `fuzz/crashes/` (not committed) and named.
//!
//! Not coverage-guided (that needs a nightly compiler): random mutations of
//! hand-made and real seeds, deterministic from the printed seed.
//!
//! `cargo run --release -p kratix-fuzz -- --seconds 600` (all targets, ten
//! minutes each); `--target promise` for one; `--list` names them.

mod mutate;
mod targets;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, Result, bail};
use clap::Parser;

use crate::mutate::{Rng, mutate};
use crate::targets::{FuzzTarget, TARGETS};

#[derive(Parser)]
#[command(about = "Mutation fuzzing of what pipelines, tenants and state stores write")]
struct Args {
    /// How long each target runs.
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    /// A target to run (repeat for several); all when none is given.
    #[arg(long = "target")]
    targets: Vec<String>,
    /// The generator's seed (printed, so that a run can be made again).
    #[arg(long)]
    seed: Option<u64>,
    /// The longest input made, in bytes.
    #[arg(long, default_value_t = 64 * 1024)]
    max_len: usize,
    /// The most memory the process may have held at its peak, in MiB.
    #[arg(long, default_value_t = 512)]
    max_rss_mib: u64,
    /// The longest one input may take.
    #[arg(long, default_value_t = 10)]
    input_timeout_seconds: u64,
    /// Lists the targets and what each reads.
    #[arg(long)]
    list: bool,
}

fn main() -> Result<()> {
    let args = Args::parse();
    if args.list {
        for target in TARGETS {
            println!("{:<24}{}", target.name, target.reads);
        }
        return Ok(());
    }
    let chosen: Vec<&FuzzTarget> = if args.targets.is_empty() {
        TARGETS.iter().collect()
    } else {
        args.targets
            .iter()
            .map(|name| {
                TARGETS
                    .iter()
                    .find(|t| t.name == name)
                    .with_context(|| format!("no target {name:?}; `kratix-fuzz --list` names them"))
            })
            .collect::<Result<_>>()?
    };
    let seed = args.seed.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
    });
    println!("seed {seed} (--seed {seed} makes this run again)");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // A target's panics are the findings, reported once by the driver; any
    // other panic is the driver's own and printed as usual.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !IN_TARGET.with(std::cell::Cell::get) {
            default_hook(info);
        }
    }));
    let watch = Watchdog::start(
        Duration::from_secs(args.input_timeout_seconds),
        root.join("crashes"),
    );
    for target in chosen {
        run_target(target, &args, seed, root, &watch)?;
    }
    Ok(())
}

thread_local! {
    /// Set while a target runs an input.
    static IN_TARGET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The input being run, and when it started: a thread that sees one run too
/// long writes it out and ends the process.
struct Watchdog {
    current: Arc<Mutex<(String, Vec<u8>)>>,
    started_ms: Arc<AtomicU64>,
}

impl Watchdog {
    fn start(limit: Duration, crashes: PathBuf) -> Watchdog {
        let current = Arc::new(Mutex::new((String::new(), Vec::new())));
        let started_ms = Arc::new(AtomicU64::new(0));
        let (watched, since) = (current.clone(), started_ms.clone());
        std::thread::spawn(move || {
            loop {
                std::thread::sleep(Duration::from_millis(500));
                let started = since.load(Ordering::Relaxed);
                if started != 0 && now_ms().saturating_sub(started) > limit.as_millis() as u64 {
                    let (target, input) = watched.lock().map(|g| g.clone()).unwrap_or_default();
                    let path = save(&crashes, &target, "slow", &input);
                    eprintln!(
                        "FAIL {target}: one input ran longer than {} s; it is in {}",
                        limit.as_secs(),
                        path.display()
                    );
                    std::process::exit(1);
                }
            }
        });
        Watchdog { current, started_ms }
    }

    fn begin(&self, target: &str, input: &[u8]) {
        if let Ok(mut current) = self.current.lock() {
            current.0.clear();
            current.0.push_str(target);
            current.1.clear();
            current.1.extend_from_slice(input);
        }
        self.started_ms.store(now_ms().max(1), Ordering::Relaxed);
    }

    fn end(&self) {
        self.started_ms.store(0, Ordering::Relaxed);
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The seeds of a target: every file under `corpus/<target>/`.
fn seeds(root: &Path, target: &str) -> Result<Vec<Vec<u8>>> {
    let dir = root.join("corpus").join(target);
    let mut found = Vec::new();
    let entries =
        std::fs::read_dir(&dir).with_context(|| format!("reading the seed corpus {}", dir.display()))?;
    for entry in entries {
        let path = entry?.path();
        if path.is_file() {
            found.push(std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?);
        }
    }
    if found.is_empty() {
        bail!("{} holds no seed; add at least one input", dir.display());
    }
    found.sort();
    Ok(found)
}

/// Peak resident memory of this process so far, in KiB (`VmHWM`).
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn save(crashes: &Path, target: &str, kind: &str, input: &[u8]) -> PathBuf {
    let _ = std::fs::create_dir_all(crashes);
    let digest = input.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
    });
    let path = crashes.join(format!("{target}-{kind}-{digest:016x}"));
    let _ = std::fs::write(&path, input);
    path
}

fn run_target(target: &FuzzTarget, args: &Args, seed: u64, root: &Path, watch: &Watchdog) -> Result<()> {
    let seeds = seeds(root, target.name)?;
    let mut rng = Rng::new(
        seed ^ target
            .name
            .bytes()
            .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b))),
    );
    // Recent inputs, so mutations can build on mutations.
    let mut pool: Vec<Vec<u8>> = seeds.clone();
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let limit_kib = args.max_rss_mib * 1024;
    let mut runs: u64 = 0;
    while Instant::now() < deadline {
        let input = if runs < seeds.len() as u64 {
            seeds[runs as usize].clone()
        } else {
            let base = &pool[rng.below(pool.len())];
            let other = &seeds[rng.below(seeds.len())];
            mutate(&mut rng, base, other, args.max_len)
        };
        watch.begin(target.name, &input);
        IN_TARGET.with(|flag| flag.set(true));
        let outcome = std::panic::catch_unwind(|| (target.run)(&input));
        IN_TARGET.with(|flag| flag.set(false));
        watch.end();
        runs += 1;
        if let Err(panic) = outcome {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            let path = save(&root.join("crashes"), target.name, "panic", &input);
            bail!(
                "{}: input {runs} panicked: {message}; it is in {}",
                target.name,
                path.display()
            );
        }
        if peak_rss_kib() > limit_kib {
            let path = save(&root.join("crashes"), target.name, "memory", &input);
            bail!(
                "{}: the process's memory peaked past {} MiB by input {runs}; the last input is in {}",
                target.name,
                args.max_rss_mib,
                path.display()
            );
        }
        if pool.len() < 256 {
            pool.push(input);
        } else {
            let slot = rng.below(pool.len());
            pool[slot] = input;
        }
    }
    println!(
        "{:<24}{runs:>10} inputs in {} s ({:.0}/s), {} seeds, peak RSS {} MiB: no panic, none slow",
        target.name,
        args.seconds,
        runs as f64 / args.seconds.max(1) as f64,
        seeds.len(),
        peak_rss_kib() / 1024
    );
    Ok(())
}
