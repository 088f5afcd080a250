//! Secrets out of printed configurations: `--dump-config` and `directorctl config` show
//! the running model without passwords and keys, which end up in tickets and chat logs.

use serde_json::Value;

use super::model::Config;

/// What a secret is replaced with.
pub const REDACTED: &str = "<redacted>";

/// The configuration as JSON with VRRP passwords, OSPF keys and the SSL password replaced.
pub fn redacted_json(config: &Config) -> Result<Value, serde_json::Error> {
    let mut value = serde_json::to_value(config)?;
    redact(&mut value);
    Ok(value)
}

fn redact(value: &mut Value) {
    match value {
        Value::Object(map) => {
            // OSPF and BFD authentication are tagged `{"type": "simple"|"md5"|…, "key": …}`; other
            // `key` fields (service keys, the SSL key *file*) are not secrets.
            let is_ospf_auth = matches!(
                map.get("type").and_then(Value::as_str),
                Some(
                    "simple"
                        | "md5"
                        | "keyed_md5"
                        | "meticulous_keyed_md5"
                        | "keyed_sha1"
                        | "meticulous_keyed_sha1"
                        | "hmac_sha1"
                        | "hmac_sha256"
                        | "hmac_sha384"
                        | "hmac_sha512"
                )
            );
            for (name, field) in map.iter_mut() {
                let secret = matches!(name.as_str(), "auth_pass" | "password")
                    || (is_ospf_auth && name == "key");
                if secret && field.is_string() {
                    *field = Value::String(REDACTED.to_string());
                } else {
                    redact(field);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_and_ospf_keys_are_hidden_everything_else_kept() {
        let loaded = crate::config::parse_str(
            "redact.conf",
            "ospf {\n  router_id 10.0.0.1\n  area 0 {\n    interface eth0 {\n      authentication {\n        auth_type md5\n        auth_key 1 topsecret\n        auth_key 2 shasecret hmac_sha512\n      }\n    }\n  }\n}\n\
             vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  authentication {\n    auth_type PASS\n    auth_pass hunter2\n  }\n  virtual_ipaddress {\n    10.0.0.100/24\n  }\n}\n",
        )
        .expect("valid");
        let text = redacted_json(&loaded.config).expect("json").to_string();
        assert!(!text.contains("topsecret"), "{text}");
        assert!(!text.contains("shasecret"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains(REDACTED));
        assert!(text.contains("10.0.0.100"), "{text}");
    }
}
