//! Capture: files an external sender dropped, moved into inbox/ before a run. Measures many
//! small files and one large file, with the drop folder on the data folder's file system
//! (link and unlink) and, when /dev/shm is another file system, across (copy, fsync, rename).
//!
//! `cargo bench --bench capture_throughput [-- --rows N]` (N small files, default 2,000).

mod support;

use std::fs;
use std::path::Path;
use support::{build_cli, fail, init_data_dir, measure, parse_rows, print_table, Measured};

const SMALL: usize = 10 * 1024;
const LARGE: usize = 256 * 1024 * 1024;

fn fill(drop: &Path, files: usize) {
    fs::create_dir_all(drop).unwrap_or_else(|e| fail(format!("{}: {e}", drop.display())));
    let body = vec![b'x'; SMALL];
    for i in 0..files {
        fs::write(drop.join(format!("feed_{i:05}.dat")), &body)
            .unwrap_or_else(|e| fail(format!("write: {e}")));
    }
}

fn run_capture(
    bin: &Path,
    drop: &Path,
    files: usize,
    make: impl Fn(&Path),
    label: &'static str,
) -> Measured {
    let (_tmp, data) = init_data_dir(bin);
    fs::write(
        data.join("moosync.toml"),
        format!("[feed]\ndrop_folder = \"{}\"\n", drop.display()),
    )
    .unwrap_or_else(|e| fail(format!("settings: {e}")));
    make(drop);
    let m = measure(
        bin,
        &data,
        files,
        &[format!("capture: {files} file(s) moved")],
        label,
    );
    let waiting = fs::read_dir(data.join("inbox"))
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| e.path().is_file())
                .count()
        })
        .unwrap_or(0);
    if waiting != files || fs::read_dir(drop).map(|d| d.count()).unwrap_or(1) != 0 {
        fail(format!(
            "{label}: {waiting} of {files} files waiting in inbox/"
        ));
    }
    let _ = fs::remove_dir_all(drop);
    m
}

/// Written in 1 MiB pieces: a bench holding the whole file would show in the child's peak
/// RSS, which starts from the parent's.
fn big(drop: &Path) {
    use std::io::Write;
    fs::create_dir_all(drop).unwrap_or_else(|e| fail(format!("{}: {e}", drop.display())));
    let mut f = fs::File::create(drop.join("big.dat")).unwrap_or_else(|e| fail(format!("{e}")));
    let piece = vec![7u8; 1 << 20];
    for _ in 0..LARGE >> 20 {
        f.write_all(&piece).unwrap_or_else(|e| fail(format!("{e}")));
    }
}

fn same_device(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (fs::metadata(a), fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev(),
        _ => true,
    }
}

fn main() {
    let files = parse_rows(2_000);
    let bin = build_cli();
    let scratch = tempfile::tempdir().unwrap_or_else(|e| fail(format!("temp dir: {e}")));
    let here = scratch.path().join("drop");
    let mut runs = vec![
        run_capture(
            &bin,
            &here,
            files,
            |d| fill(d, files),
            "small files, same file system",
        ),
        run_capture(&bin, &here, 1, big, "one 256 MiB file, same file system"),
    ];
    let shm = Path::new("/dev/shm");
    if shm.is_dir() && !same_device(shm, scratch.path()) {
        let there = shm.join(format!("moosync-bench-{}", std::process::id()));
        runs.push(run_capture(
            &bin,
            &there,
            files,
            |d| fill(d, files),
            "small files, across file systems",
        ));
        runs.push(run_capture(
            &bin,
            &there,
            1,
            big,
            "one 256 MiB file, across file systems",
        ));
    }
    println!();
    let refs: Vec<&Measured> = runs.iter().collect();
    print_table(&refs);
    println!("(rows = files moved; a run with no matching preset only captures)");
}
