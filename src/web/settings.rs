//! The settings screen: the effective settings (the shipped defaults with moosync.toml over
//! them), read-only, any secret-looking value masked; and the scripts' text.

use crate::config::DEFAULT_TOML;
use crate::setup::Setup;
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct Setting {
    pub key: String,
    pub value: String,
    /// Set in moosync.toml (not the default).
    pub set: bool,
}

/// Every setting's value in force, by table then key.
pub fn effective(s: &Setup) -> Vec<Setting> {
    let defaults: toml::Table = toml::from_str(DEFAULT_TOML).unwrap_or_default();
    let own: toml::Table = std::fs::read_to_string(s.area.config_path())
        .ok()
        .and_then(|t| toml::from_str(&t).ok())
        .unwrap_or_default();
    let mut out = Vec::new();
    let mut tables: Vec<&String> = defaults.keys().chain(own.keys()).collect();
    tables.sort();
    tables.dedup();
    for table in tables {
        let d = defaults.get(table).and_then(|v| v.as_table());
        let o = own.get(table).and_then(|v| v.as_table());
        let mut keys: Vec<&String> = d.into_iter().chain(o).flat_map(|t| t.keys()).collect();
        keys.sort();
        keys.dedup();
        for key in keys {
            let mine = o.and_then(|t| t.get(key));
            let Some(v) = mine.or_else(|| d.and_then(|t| t.get(key))) else {
                continue;
            };
            out.push(Setting {
                key: format!("[{table}] {key}"),
                value: shown(key, v),
                set: mine.is_some(),
            });
        }
    }
    out
}

/// A value as TOML writes it, or masked when its key names a secret itself (the keys that
/// say where a secret is, `*_env` and `*_file`, are shown).
fn shown(key: &str, v: &toml::Value) -> String {
    let secretish = ["password", "token", "secret"]
        .iter()
        .any(|w| key.contains(w));
    if secretish && !key.ends_with("_env") && !key.ends_with("_file") {
        return "••••••".into();
    }
    v.to_string()
}

/// Where the console's login secret comes from, never the secret.
pub fn secret_source(s: &Setup) -> String {
    let w = &s.cfg.web;
    match (&w.secret_env, &w.secret_file) {
        (e, _) if !e.is_empty() => format!("the environment variable {e}"),
        (_, Some(f)) => format!("the file {}", f.display()),
        _ => "nowhere: serve needs [web] secret_env or secret_file".into(),
    }
}

/// A script's text, by its file name in scripts/.
pub fn script(s: &Setup, name: &str) -> Result<String, String> {
    let path = crate::filemanager::file(&s.area, &format!("{}/{name}", crate::filearea::SCRIPTS))?;
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {name}: {e}"))
}
