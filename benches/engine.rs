//! Where the time goes in one file's analysis: parsing, the walk with no rules (scopes, name
//! resolution, the facts the crate index needs), the walk with every rule and with each rule alone,
//! and the whole per-file pipeline (`lint_source`: parse + walk + settle against the index).
//!
//!   cargo bench --bench engine                 all of it (a few minutes)
//!   cargo bench --bench engine -- --quick      a rough pass
//!   cargo bench --bench engine -- walk/        only the walks (criterion's name filter)
//!
//! Inputs are this repository's own code (never third-party files): `src/engine/walker.rs` (a big,
//! mostly synchronous file), every fixture concatenated (dense async code), and a generated async
//! service module. A rule's own cost is `walk/<rule>` minus `walk/no-rules`.

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use async_lint::catalog::Catalog;
use async_lint::config::TestCode;
use async_lint::engine::context::SourceText;
use async_lint::engine::manifest::Runtime;
use async_lint::engine::walker::Walker;
use async_lint::engine::{lint_source, lint_source_with, parser_offset};
use async_lint::rules::{self, Rule};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

struct Input {
    name: &'static str,
    text: String,
}

fn inputs() -> Vec<Input> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let walker = std::fs::read_to_string(root.join("src/engine/walker.rs")).expect("src/engine/walker.rs");
    let mut fixtures: Vec<_> = std::fs::read_dir(root.join("fixtures"))
        .expect("fixtures/")
        .flat_map(|rule| std::fs::read_dir(rule.unwrap().path()).unwrap())
        .map(|file| file.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "rs"))
        .collect();
    fixtures.sort();
    let fixtures = fixtures.iter().map(|p| std::fs::read_to_string(p).unwrap()).collect::<Vec<_>>().join("\n");
    vec![
        Input { name: "walker.rs", text: walker },
        Input { name: "fixtures", text: fixtures },
        Input { name: "generated", text: generated_service(150) },
    ]
}

/// An async service module: handlers that await, loop, match, spawn, select and use closures —
/// the shapes the rules look at, plus ordinary sync helpers.
fn generated_service(handlers: usize) -> String {
    let mut s = String::from(
        "use std::sync::Arc;\nuse std::time::Duration;\nuse tokio::sync::{mpsc, Mutex};\n\
         use futures::future::join_all;\n\npub struct Store { inner: Arc<Mutex<Vec<u64>>> }\n\n",
    );
    for i in 0..handlers {
        s.push_str(&format!(
            r#"
/// Handler {i}.
pub async fn handle_{i}(store: &Store, ids: Vec<u64>, tx: mpsc::Sender<u64>) -> Result<u64, Error> {{
    let mut total = 0;
    for id in &ids {{
        let value = fetch_{i}(*id).await?;
        total += value;
        if value > {i} {{
            tx.send(value).await.map_err(|_| Error::Closed)?;
        }}
    }}
    let guard = store.inner.lock().await;
    let sum: u64 = guard.iter().copied().filter(|v| v % 2 == 0).map(|v| v * {i}).sum();
    drop(guard);
    let handle = tokio::spawn(async move {{
        tokio::time::sleep(Duration::from_millis({i})).await;
        helper_{i}(sum)
    }});
    let results = join_all(ids.iter().map(|id| fetch_{i}(*id))).await;
    match results.into_iter().collect::<Result<Vec<_>, _>>() {{
        Ok(values) => total += values.len() as u64,
        Err(e) => return Err(e),
    }}
    tokio::select! {{
        r = handle => total += r.map_err(|_| Error::Join)?,
        _ = tokio::time::sleep(Duration::from_secs(1)) => {{}}
    }}
    Ok(total)
}}

async fn fetch_{i}(id: u64) -> Result<u64, Error> {{
    let path = format!("/data/{{id}}");
    let body = tokio::fs::read_to_string(&path).await.map_err(Error::Io)?;
    Ok(body.len() as u64 + id)
}}

fn helper_{i}(x: u64) -> u64 {{
    let mut acc = x;
    while acc > 10 {{
        acc = if acc % 3 == 0 {{ acc / 3 }} else {{ acc - 1 }};
    }}
    acc
}}
"#
        ));
    }
    s.push_str("\n#[derive(Debug)]\npub enum Error { Io(std::io::Error), Closed, Join }\n");
    s
}

fn parse(text: &str) -> syn::File {
    syn::parse_str::<syn::File>(&text[parser_offset(text)..]).expect("benchmark input parses")
}

fn walk(source: &SourceText<'_>, file: &syn::File, rules: &[&'static Rule]) -> usize {
    let mut walker = Walker::new(source, rules);
    syn::visit::Visit::visit_file(&mut walker, file);
    let sink = walker.into_sink();
    sink.diagnostics.len() + sink.deferred.len()
}

fn engine(c: &mut Criterion) {
    for input in inputs() {
        let text = input.text.as_str();
        let path = Path::new("src/bench.rs");
        let mut group = c.benchmark_group(input.name);
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));

        group.bench_function("parse", |b| {
            b.iter(|| {
                drop(black_box(parse(black_box(text))));
                proc_macro2::extra::invalidate_current_thread_spans();
            })
        });
        group.bench_function("lint_source/no-rules", |b| b.iter(|| lint_source_with(path, black_box(text), &[])));
        group.bench_function("lint_source/all-rules", |b| b.iter(|| lint_source(path, black_box(text))));

        // The walks reuse one tree: its spans must stay valid until the last walk.
        let file = parse(text);
        let (catalog, test_code) = (Catalog::get(), TestCode::default());
        let source = SourceText::new(text, parser_offset(text), false, Runtime::Tokio, catalog, test_code);
        group.bench_function("walk/no-rules", |b| b.iter(|| walk(&source, black_box(&file), &[])));
        group.bench_function("walk/all-rules", |b| b.iter(|| walk(&source, black_box(&file), rules::ALL)));
        for &rule in rules::ALL {
            group.bench_with_input(BenchmarkId::new("walk", rule.id), &[rule], |b, one| {
                b.iter(|| walk(&source, black_box(&file), one))
            });
        }
        drop(file);
        proc_macro2::extra::invalidate_current_thread_spans();
        group.finish();
    }
}

criterion_group!(benches, engine);
criterion_main!(benches);
