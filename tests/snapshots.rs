//! The shape of the output: the human renderer and the JSON document, on one sample that triggers
//! every rule. Review changes with `cargo insta review` (or `INSTA_UPDATE=always cargo test`).

use std::path::Path;

use async_lint::engine::{lint_source, Report};
use async_lint::render;
use codespan_reporting::term::termcolor::Buffer;

const SAMPLE: &str = r#"use futures::executor::block_on;
use tokio_util::sync::CancellationToken;

async fn fetch(id: u32) -> u32 {
    id
}

pub async fn serve(ids: Vec<u32>, token: CancellationToken) {
    let first = block_on(fetch(0));
    fetch(first);
    tokio::spawn(async move { loop { fetch(1).await; } });
    for id in ids {
        fetch(id).await;
    }
    run(CancellationToken::new()).await;
}

pub async fn poll_forever() {
    loop {
        fetch(2).await;
    }
}
"#;

fn report() -> Report {
    let file = lint_source(Path::new("sample.rs"), SAMPLE);
    Report { files: vec![file], files_analysed: 1 }
}

#[test]
fn human_output() {
    let mut buffer = Buffer::no_color();
    render::full::render(&report(), &mut buffer).unwrap();
    insta::assert_snapshot!(String::from_utf8(buffer.into_inner()).unwrap());
}

#[test]
fn json_output() {
    let mut out = Vec::new();
    render::json::render(&report(), &mut out).unwrap();
    insta::assert_snapshot!(String::from_utf8(out).unwrap());
}
