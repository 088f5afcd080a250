//! docs/configuration.md documents every keyword the keyword tables accept and every
//! keepalived keyword ignored with a warning.

use director::config::keywords::{all_keywords, ignored_keywords};

#[test]
fn every_keyword_is_documented() {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/configuration.md"
    ))
    .expect("docs/configuration.md");
    // `name` alone or starting a code span (`name ARGS`, `name { }`).
    let documented =
        |name: &str| doc.contains(&format!("`{name}`")) || doc.contains(&format!("`{name} "));
    let mut missing = Vec::new();
    for (block, names) in all_keywords() {
        for name in names {
            if !documented(name) {
                missing.push(format!("{block}: {name}"));
            }
        }
    }
    for (block, names) in ignored_keywords() {
        for name in names {
            if !documented(name) {
                missing.push(format!("{block} (ignored): {name}"));
            }
        }
    }
    assert!(missing.is_empty(), "undocumented keywords: {missing:#?}");
}
