//! The team's recordings of a real Moodle 4.4dev (tests/fixtures/moodle-rest/, copied from
//! ../shared/moodle-rest/, debug = 0). The fake answers with their bodies and shapes rather
//! than invented ones, and the tests replay them; both read them through here.

use serde_json::Value;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::OnceLock;

/// One recorded exchange (`NNN-<wsfunction>-<case>.json`).
#[derive(Debug, Clone)]
pub struct Recording {
    pub file: String,
    pub function: String,
    pub case: String,
    /// The form fields in the order sent, minus wstoken/wsfunction/moodlewsrestformat.
    pub params: Vec<(String, String)>,
    pub http_status: u16,
    pub response: Value,
}

/// The base URL of the recorded site, which its bodies embed (siteurl, image URLs).
pub const RECORDED_BASE: &str = "http://127.0.0.1:8080";

pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/moodle-rest")
}

/// The recording whose file name starts with `number` (e.g. "008"); panics if missing,
/// since the fake cannot be faithful without it.
pub fn recording(number: &str) -> &'static Recording {
    static ALL: OnceLock<HashMap<String, Recording>> = OnceLock::new();
    let all = ALL.get_or_init(load_all);
    all.get(number).unwrap_or_else(|| {
        panic!(
            "no recording {number}-*.json in {}",
            fixtures_dir().display()
        )
    })
}

fn load_all() -> HashMap<String, Recording> {
    let dir = fixtures_dir();
    let entries =
        std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
    let mut out = HashMap::new();
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        let Some((number, _)) = file.split_once('-') else {
            continue;
        };
        if !file.ends_with(".json") {
            continue;
        }
        let text = std::fs::read_to_string(entry.path()).expect("read recording");
        let json: Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file} is not JSON: {e}"));
        let params = json["params"]
            .as_array()
            .map(|ps| {
                ps.iter()
                    .map(|p| {
                        (
                            p[0].as_str().unwrap().to_string(),
                            p[1].as_str().unwrap().to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.insert(
            number.to_string(),
            Recording {
                function: json["function"].as_str().unwrap_or_default().to_string(),
                case: json["case"].as_str().unwrap_or_default().to_string(),
                params,
                http_status: json["http_status"].as_u64().unwrap_or(200) as u16,
                response: json["response"].clone(),
                file,
            },
        );
    }
    out
}
