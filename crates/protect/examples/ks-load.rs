//! Load on a key service over HTTP: CLIENTS threads, each its own signed client, open one
//! protected file in a loop for SECONDS. Prints one JSON line: opens/s and latency percentiles.
//! `--healthz` times bare `GET /healthz` round trips instead: the transport's floor.
//! `--rate N` paces the clients to N opens/s in all (open loop), so latency is measured at a
//! given load rather than at saturation; a late request is timed from when it was due.
//! Used by `scripts/bench-protect`.
//!
//!     cargo run --release -p mamori-protect --example ks-load -- URL HOME FILE CLIENTS SECONDS [--healthz] [--rate N]

use mamori_keys::api::Purpose;
use mamori_keys::Identity;
use mamori_protect::{Client, Http, Transport};
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 5 {
        eprintln!("usage: ks-load URL HOME FILE CLIENTS SECONDS [--healthz]");
        std::process::exit(2);
    }
    let (url, home, file) = (&args[0], std::path::Path::new(&args[1]), &args[2]);
    let clients: usize = args[3].parse().expect("CLIENTS is a number");
    let seconds: f64 = args[4].parse().expect("SECONDS is a number");
    let healthz = args.iter().any(|a| a == "--healthz");
    let rate: Option<f64> =
        args.iter().position(|a| a == "--rate").and_then(|i| args.get(i + 1)).map(|r| r.parse().expect("--rate N"));
    // Each client's interval between requests when paced.
    let interval = rate.map(|r| Duration::from_secs_f64(clients as f64 / r));
    let container = std::fs::read(file).expect("the protected file reads");
    let stop = Instant::now() + Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let (mut latencies, errors) = std::thread::scope(|s| {
        let workers: Vec<_> = (0..clients)
            .map(|_| {
                let container = &container;
                s.spawn(move || {
                    let client =
                        Client::new(Box::new(Http::new(url)), Identity::load(home).expect("an identity"), home);
                    let bare = Http::new(url);
                    let (mut lat, mut errors) = (Vec::new(), 0usize);
                    // Paced clients start spread over one interval.
                    let mut due = Instant::now() + interval.map_or(Duration::ZERO, |i| i.mul_f64(fastrand_unit()));
                    while Instant::now() < stop {
                        if interval.is_some() {
                            std::thread::sleep(due.saturating_duration_since(Instant::now()));
                        }
                        let t = if interval.is_some() { due } else { Instant::now() };
                        due += interval.unwrap_or(Duration::ZERO);
                        let ok = if healthz {
                            bare.get("/healthz").is_ok_and(|(status, _)| status == 200)
                        } else {
                            mamori_protect::open(&client, Purpose::View, &container[..], &mut std::io::sink()).is_ok()
                        };
                        if ok {
                            lat.push(t.elapsed());
                        } else {
                            errors += 1;
                        }
                    }
                    (lat, errors)
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().expect("a worker")).fold((Vec::new(), 0), |(mut l, e), (wl, we)| {
            l.extend(wl);
            (l, e + we)
        })
    });
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    println!(
        "{{\"what\":\"{}\",\"clients\":{clients},\"rate\":{},\"seconds\":{elapsed:.2},\"ok\":{},\"errors\":{errors},\"per_second\":{:.0},\"p50_ms\":{:.2},\"p99_ms\":{:.2}}}",
        if healthz { "healthz" } else { "open" },
        rate.map_or("null".to_string(), |r| format!("{r}")),
        latencies.len(),
        latencies.len() as f64 / elapsed,
        pct(0.50),
        pct(0.99)
    );
}

/// A number in [0, 1) that differs between threads, to spread paced clients.
fn fastrand_unit() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(0);
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}
