//! Ships the rules: every file of `scripts/` and `presets/` goes into the binary, for `init`
//! to write into a new data folder. A new script or preset is a new file there, and nothing
//! else changes.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    // Read when the script runs: a build script compiled for one checkout may be run for
    // another sharing its target folder.
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let root = Path::new(&manifest);
    let mut out = String::from(
        "/// The shipped rules: (folder, file name, text), in name order.\n\
         pub const SHIPPED: &[(&str, &str, &str)] = &[\n",
    );
    for dir in ["scripts", "presets"] {
        println!("cargo:rerun-if-changed={dir}");
        let mut names: Vec<String> = std::fs::read_dir(root.join(dir))
            .unwrap_or_else(|e| panic!("{dir}/: {e}"))
            .map(|e| {
                e.expect("a directory entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .filter(|n| n.ends_with(".rhai") || n.ends_with(".toml"))
            .collect();
        names.sort();
        for name in names {
            let path = root.join(dir).join(&name);
            println!("cargo:rerun-if-changed={}", path.display());
            writeln!(
                out,
                "    ({dir:?}, {name:?}, include_str!({:?})),",
                path.display().to_string()
            )
            .unwrap();
        }
    }
    out.push_str("];\n");
    let dest = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("shipped.rs");
    std::fs::write(dest, out).expect("writing shipped.rs");
}
