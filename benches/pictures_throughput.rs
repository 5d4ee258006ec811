//! End-to-end throughput of `moosync run` on a user picture archive (`userpictures_*.zip`):
//! USERS photo-like 600×800 images, one per user (`u000001.jpg`…, every fourth a PNG), whose
//! first run renders and stores every avatar (f1, f2, f3); then the same archive under a new
//! name, where every image is skipped by its MD5 without being decoded; then an archive where
//! every image changed, so every avatar is replaced. The users are loaded first, unmeasured.
//!
//! `cargo bench --bench pictures_throughput [-- --rows N]` (default 1,000 images).
//! Exits non-zero when a run fails or the store does not hold what a run should have written.

mod support;

use image::codecs::jpeg::JpegEncoder;
use image::{ImageFormat, Rgb, RgbImage};
use rayon::prelude::*;
use rusqlite::{Connection, OpenFlags};
use std::fs::{self, File};
use std::io::{BufWriter, Cursor, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use support::{build_cli, fail, init_data_dir, measure_run, parse_rows, print_table};

const DEFAULT_ROWS: usize = 1_000;
const WIDTH: u32 = 600;
const HEIGHT: u32 = 800;
const JPEG_QUALITY: u8 = 85;
/// The hidden mode in which this benchmark writes an archive (see `write_zip_apart`).
const WRITE_ZIP: &str = "--write-zip";

/// xorshift64*: cheap, seeded noise so the images neither compress to nothing nor repeat.
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> u8 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8
    }
}

/// User `i`'s image in `variant`: a diagonal gradient whose colours depend on both, a 4×4
/// grid of light and dark patches spelling `i`'s low 16 bits (so even the 35×35 f2 differs
/// from user to user), and per-pixel noise.
fn photo(i: usize, variant: u64) -> RgbImage {
    let mut noise =
        Noise((i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ ((variant + 1) << 32));
    let hue = (i as u32 * 37 + variant as u32 * 101) % 256;
    let (pw, ph) = (WIDTH / 4, HEIGHT / 4);
    RgbImage::from_fn(WIDTH, HEIGHT, |x, y| {
        let bit = (y / ph) * 4 + x / pw;
        let patch: i32 = if (i >> bit) & 1 == 1 { 40 } else { -40 };
        let t = (x * 255 / WIDTH + y * 255 / HEIGHT) / 2;
        let n = noise.next() as i32 / 16 - 8;
        let c = |base: u32| (base as i32 + patch + n).clamp(0, 255) as u8;
        Rgb([
            c((t + hue) % 256),
            c((255 - t + hue / 2) % 256),
            c((t / 2 + 255 - hue) % 256),
        ])
    })
}

/// The entry name and encoded bytes of user `i`'s image (1-based): every fourth is a PNG.
fn entry(i: usize, variant: u64) -> (String, Vec<u8>) {
    let img = photo(i, variant);
    let mut out = Cursor::new(Vec::new());
    let name = if i.is_multiple_of(4) {
        img.write_to(&mut out, ImageFormat::Png)
            .unwrap_or_else(|e| fail(format!("encoding PNG: {e}")));
        format!("u{i:06}.png")
    } else {
        JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY)
            .encode_image(&img)
            .unwrap_or_else(|e| fail(format!("encoding JPEG: {e}")));
        format!("u{i:06}.jpg")
    };
    (name, out.into_inner())
}

/// Writes a zip of the `users` images of `variant`, encoded on every core a chunk at a time;
/// returns a line on its size and its images' mean sizes.
fn write_zip(path: &Path, users: usize, variant: u64) -> String {
    let file = File::create(path).unwrap_or_else(|e| fail(format!("{}: {e}", path.display())));
    let mut z = zip::ZipWriter::new(BufWriter::with_capacity(1 << 20, file));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    // (count, bytes) of the JPEGs and of the PNGs.
    let mut sizes = [(0usize, 0usize); 2];
    let ids: Vec<usize> = (1..=users).collect();
    for chunk in ids.chunks(64) {
        let entries: Vec<(String, Vec<u8>)> =
            chunk.par_iter().map(|&i| entry(i, variant)).collect();
        for (name, bytes) in &entries {
            let s = &mut sizes[usize::from(name.ends_with(".png"))];
            s.0 += 1;
            s.1 += bytes.len();
            z.start_file(name.as_str(), opts)
                .and_then(|()| z.write_all(bytes).map_err(Into::into))
                .unwrap_or_else(|e| fail(format!("zip entry {name}: {e}")));
        }
    }
    z.finish()
        .and_then(|mut w| w.flush().map_err(Into::into))
        .unwrap_or_else(|e| fail(format!("finishing {}: {e}", path.display())));
    let size = fs::metadata(path).map_or(0, |m| m.len()) as f64;
    let mean = |(n, bytes): (usize, usize)| bytes as f64 / n.max(1) as f64 / 1024.0;
    format!(
        "{:.1} MiB zip; {} JPEG of {:.0} KiB, {} PNG of {:.0} KiB on average",
        size / 1048576.0,
        sizes[0].0,
        mean(sizes[0]),
        sizes[1].0,
        mean(sizes[1])
    )
}

/// Has this benchmark write the zip in a child process of its own. A spawned `moosync`
/// starts in this process's memory map (vfork), and `wait4`'s peak RSS counts that map's
/// high-water mark: so this process must never hold the images.
fn write_zip_apart(path: &Path, users: usize, variant: u64) -> String {
    let exe = std::env::current_exe().unwrap_or_else(|e| fail(format!("current_exe: {e}")));
    let out = Command::new(exe)
        .arg(WRITE_ZIP)
        .arg(path)
        .args([users.to_string(), variant.to_string()])
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| fail(format!("cannot start the zip writer: {e}")));
    if !out.status.success() {
        fail(format!("writing {} failed: {}", path.display(), out.status));
    }
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The child's side of [`write_zip_apart`]: `--write-zip PATH USERS VARIANT`.
fn zip_writer_mode() -> bool {
    let args: Vec<String> = std::env::args().collect();
    let Some(at) = args.iter().position(|a| a == WRITE_ZIP) else {
        return false;
    };
    let arg = |k: usize| {
        args.get(at + k)
            .unwrap_or_else(|| fail(format!("{WRITE_ZIP} PATH USERS VARIANT")))
    };
    let number = |k: usize| -> u64 {
        arg(k)
            .parse()
            .unwrap_or_else(|_| fail(format!("{WRITE_ZIP}: not a number: {}", arg(k))))
    };
    println!(
        "{}",
        write_zip(Path::new(arg(1)), number(2) as usize, number(3))
    );
    true
}

fn count(data: &Path, sql: &str) -> i64 {
    let db = data.join("moodle.db");
    Connection::open_with_flags(&db, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .and_then(|c| c.query_row(sql, [], |r| r.get(0)))
        .unwrap_or_else(|e| fail(format!("store check ({sql}): {e}")))
}

/// Content files under `filedir/` (the avatars; nothing else writes there).
fn filedir_files(data: &Path) -> usize {
    let dir = data.join("filedir");
    if !dir.is_dir() {
        return 0;
    }
    walkdir::WalkDir::new(&dir)
        .into_iter()
        .map(|e| e.unwrap_or_else(|e| fail(format!("walking {}: {e}", dir.display()))))
        .filter(|e| e.file_type().is_file())
        .count()
}

/// Every user has a picture, and the icon area holds one set of files each: the directory
/// row and f1, f2, f3.
fn verify_store(data: &Path, users: usize, after: &str) {
    let with_picture = count(data, "SELECT COUNT(*) FROM mdl_user WHERE picture > 0");
    let icon_rows = count(
        data,
        "SELECT COUNT(*) FROM mdl_files WHERE component = 'user' AND filearea = 'icon'",
    );
    let hashes = count(
        data,
        "SELECT COUNT(*) FROM mdl_user_info_data d JOIN mdl_user_info_field f
         ON f.id = d.fieldid WHERE f.shortname = 'userpicturehash' AND length(d.data) = 32",
    );
    for (what, got, want) in [
        ("users with picture > 0", with_picture, users),
        ("user/icon rows in mdl_files", icon_rows, 4 * users),
        ("userpicturehash values", hashes, users),
    ] {
        if got != want as i64 {
            fail(format!(
                "store check after {after}: {got} {what}, expected {want}"
            ));
        }
    }
}

fn main() {
    if zip_writer_mode() {
        return;
    }
    let users = parse_rows(DEFAULT_ROWS);
    let bin = build_cli();
    let (tmp, data) = init_data_dir(&bin);

    let users_csv = tmp.path().join("users.csv");
    let text: String = std::iter::once("username;firstname;lastname\n".to_string())
        .chain((1..=users).map(|i| format!("u{i:06};First{i};Last{i}\n")))
        .collect();
    fs::write(&users_csv, text).unwrap_or_else(|e| fail(format!("writing CSV: {e}")));
    measure_run(
        &bin,
        &data,
        (&users_csv, "userimport.csv"),
        users,
        &[format!("{users} created")],
        "setup: users",
    );

    // Outside inbox/, so they are not picked up (or archived) before their run.
    let zip_a = tmp.path().join("a.zip");
    let zip_b = tmp.path().join("b.zip");
    println!(
        "archive:      {users} images of {WIDTH}×{HEIGHT} (JPEG quality {JPEG_QUALITY}), {}",
        write_zip_apart(&zip_a, users, 0)
    );
    println!("changed copy: {}", write_zip_apart(&zip_b, users, 1));

    let first = measure_run(
        &bin,
        &data,
        (&zip_a, "userpictures_bench.zip"),
        users,
        &[
            format!("userpictures_bench.zip: {users} rows: {users} applied ({users} created"),
            ", 0 skipped, 0 failed".into(),
        ],
        "first run, all pictures new",
    );
    verify_store(&data, users, "the first run");
    let files = filedir_files(&data);
    if files != 3 * users {
        fail(format!(
            "store check after the first run: {files} files under filedir/, expected {} (f1, f2, f3 a user)",
            3 * users
        ));
    }

    let rerun = measure_run(
        &bin,
        &data,
        (&zip_a, "userpictures_bench2.zip"),
        users,
        &[
            format!("userpictures_bench2.zip: {users} rows: 0 applied"),
            format!(", {users} skipped, 0 failed"),
        ],
        "same zip again, all same MD5",
    );
    verify_store(&data, users, "the unchanged re-run");
    if filedir_files(&data) != files {
        fail("the unchanged re-run wrote under filedir/");
    }

    let changed = measure_run(
        &bin,
        &data,
        (&zip_b, "userpictures_bench3.zip"),
        users,
        &[
            format!(
                "userpictures_bench3.zip: {users} rows: {users} applied (0 created, {users} updated"
            ),
            ", 0 skipped, 0 failed".into(),
        ],
        "every image changed, all updated",
    );
    verify_store(&data, users, "the changed run");

    println!();
    print_table(&[&first, &rerun, &changed]);
    println!(
        "\nfiledir/: {files} files after the first run, {} after the changed run \
         (replaced avatars' content is left for a cleanup)",
        filedir_files(&data)
    );
}
