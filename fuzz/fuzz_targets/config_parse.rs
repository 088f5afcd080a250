//! The configuration reader (preprocessor, tokenizer, block parser, keyword tables,
//! validation) must never panic or hang on any input. The first byte selects a
//! config-id so `@id` conditionals are exercised both ways.
#![no_main]

use director::config::{parse_str_with, LoadOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    // Keep the fuzzer hermetic: include would read the machine's files.
    if text.contains("include") {
        return;
    }
    let options = LoadOptions {
        config_id: (selector & 1 == 1).then(|| "a".to_string()),
    };
    if let Ok(loaded) = parse_str_with("fuzz.conf", &text, &options) {
        // The dump must work for whatever loads.
        let _ = serde_json::to_string(&loaded.config);
    }
});
