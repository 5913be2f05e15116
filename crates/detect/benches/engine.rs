//! Engine throughput on English and Japanese prose, with no hits and hit-dense, all types on.
//! Baseline in the same process: `memchr` counting newlines over the same text (the speed of
//! reading memory), so the figure can be read as a fraction of the machine's bandwidth.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use mamori_detect::digits::for_each_run;
use mamori_detect::normalize::fold;
use mamori_detect::{Catalog, Engine};
use std::hint::black_box;

/// A deterministic generator (xorshift) so every run sees the same text.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[(self.next() % xs.len() as u64) as usize]
    }
}

const EN: &[&str] = &[
    "the",
    "quarterly",
    "report",
    "shows",
    "that",
    "revenue",
    "grew",
    "in",
    "all",
    "regions",
    "while",
    "costs",
    "remained",
    "stable",
    "our",
    "team",
    "will",
    "review",
    "the",
    "results",
    "with",
    "management",
    "next",
    "week",
    "and",
    "prepare",
    "a",
    "summary",
    "for",
    "the",
    "board",
    "meeting",
    "in",
    "October",
    "2026",
    "customers",
    "asked",
    "about",
    "delivery",
    "times",
    "of",
    "12",
    "days",
    "on",
    "average",
];
const JA: &[&str] = &[
    "今期の",
    "売上は",
    "全地域で",
    "増加し",
    "費用は",
    "横ばいでした。",
    "来週",
    "経営会議で",
    "結果を",
    "確認し",
    "取締役会向けの",
    "資料を",
    "準備します。",
    "お客様から",
    "納期について",
    "問い合わせが",
    "ありました（平均１２日）。",
    "担当者は",
    "東京本社の",
    "営業部です。",
    "データは",
    "クラウドに",
    "保存されています。",
];

fn prose(words: &[&str], sep: &str, bytes: usize, seed: u64) -> String {
    let mut r = Rng(seed);
    let mut s = String::with_capacity(bytes + 64);
    let mut n = 0;
    while s.len() < bytes {
        s.push_str(r.pick(words));
        n += 1;
        s.push_str(if n % 14 == 0 { "\n" } else { sep });
    }
    s
}

/// One line in twenty carries a sensitive value with its keyword.
fn dense(base: &str) -> String {
    let hits = [
        "カード番号 4111 1111 1111 1111",
        "マイナンバー 6214 9832 0257",
        "mail taro.yamada@example.co.jp",
        "TEL 03-1234-5678",
        "IBAN GB82 WEST 1234 5698 7654 32",
        "aws_access_key_id = AKIAECOSFOGYR5XKXWNR",
        "server 192.168.10.25",
        "SSN: 536-90-4399",
    ];
    let mut out = String::with_capacity(base.len() * 11 / 10);
    for (i, line) in base.lines().enumerate() {
        out.push_str(line);
        if i % 20 == 0 {
            out.push(' ');
            out.push_str(hits[i / 20 % hits.len()]);
        }
        out.push('\n');
    }
    out
}

fn bench(c: &mut Criterion) {
    let engine = Engine::new(&Catalog::builtin()).unwrap();
    let size = 4 << 20;
    let en = prose(EN, " ", size, 1);
    let ja = prose(JA, "", size, 2);
    let cases = [
        ("english", en.clone()),
        ("japanese", ja.clone()),
        ("english-dense", dense(&en)),
        ("japanese-dense", dense(&ja)),
    ];
    let mut g = c.benchmark_group("scan");
    g.sample_size(10);
    for (name, text) in &cases {
        g.throughput(Throughput::Bytes(text.len() as u64));
        g.bench_function(*name, |b| b.iter(|| black_box(engine.scan(black_box(text)))));
    }
    // the stages alone, to see where the time goes
    for (name, text) in [("english", &en), ("japanese", &ja)] {
        g.throughput(Throughput::Bytes(text.len() as u64));
        g.bench_function(format!("stage-fold-{name}"), |b| b.iter(|| black_box(fold(black_box(text)).text.len())));
        let mut seps = [false; 256];
        seps[b' ' as usize] = true;
        seps[b'-' as usize] = true;
        g.bench_function(format!("stage-digit-runs-{name}"), |b| {
            b.iter(|| {
                let mut n = 0;
                for_each_run(black_box(text.as_bytes()), &seps, |g| n += g.len());
                n
            })
        });
    }
    g.throughput(Throughput::Bytes(ja.len() as u64));
    g.bench_function("baseline-memchr-newlines", |b| {
        b.iter(|| black_box(memchr::memchr_iter(b'\n', black_box(ja.as_bytes())).count()))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
