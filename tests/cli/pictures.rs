//! User pictures end to end: zip archives and folders of images into Moodle's avatar files.

use crate::workdir::Workdir;
use std::io::{Cursor, Write};

/// Accounts ann, bob and cat.
fn setup() -> Workdir {
    let w = Workdir::new();
    w.drop_file(
        "userimport.csv",
        "username;firstname;lastname\nann;Ann;A\nbob;Bob;B\ncat;Cat;C\n",
    );
    w.run().expect_code(0);
    w
}

fn encoded(format: image::ImageFormat, w: u32, h: u32, colour: [u8; 3]) -> Vec<u8> {
    let img = image::RgbImage::from_pixel(w, h, image::Rgb(colour));
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format).unwrap();
    out.into_inner()
}

pub(crate) fn png(colour: [u8; 3]) -> Vec<u8> {
    encoded(image::ImageFormat::Png, 300, 200, colour)
}

pub(crate) fn jpeg() -> Vec<u8> {
    encoded(image::ImageFormat::Jpeg, 640, 480, [10, 20, 200])
}

fn gif() -> Vec<u8> {
    encoded(image::ImageFormat::Gif, 50, 80, [0, 200, 0])
}

/// A zip of (name, bytes) entries, as an SIS would send it.
pub(crate) fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut z = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in entries {
        z.start_file(*name, opts).unwrap();
        z.write_all(bytes).unwrap();
    }
    z.finish().unwrap().into_inner()
}

fn picture_of(w: &Workdir, user: &str) -> i64 {
    w.count(&format!(
        "SELECT picture FROM mdl_user WHERE username = '{user}'"
    ))
}

/// The user's icon files: (filename, mimetype, contenthash).
fn icon_files(w: &Workdir, user: &str) -> Vec<(String, Option<String>, String)> {
    let db = w.db();
    let mut stmt = db
        .prepare(
            "SELECT f.filename, f.mimetype, f.contenthash FROM mdl_files f
             JOIN mdl_context c ON c.id = f.contextid AND c.contextlevel = 30
             JOIN mdl_user u ON u.id = c.instanceid
             WHERE u.username = ?1 AND f.component = 'user' AND f.filearea = 'icon' ORDER BY f.filename",
        )
        .unwrap();
    stmt.query_map([user], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn content(w: &Workdir, hash: &str) -> Vec<u8> {
    std::fs::read(w.join(&format!("filedir/{}/{}/{hash}", &hash[0..2], &hash[2..4]))).unwrap()
}

#[test]
fn png_jpeg_and_gif_become_moodle_avatars_and_bad_entries_fail_alone() {
    let w = setup();
    let (p, j, g) = (png([200, 0, 0]), jpeg(), gif());
    w.drop_file(
        "userpictures_1.zip",
        zip_of(&[
            ("ann.png", &p),
            ("photos/bob.jpg", &j),
            ("cat.gif", &g),
            ("x.jpg", b"hello, not an image\n"),
            ("nobody.png", &p),
            ("__MACOSX/._ann.png", b"\x00\x05\x16\x07resource fork"),
        ]),
    );
    w.run().expect_code(1);

    // PNG: f1/f2/f3 as PNG, the directory row, and user.picture = the f1 row.
    let ann = icon_files(&w, "ann");
    let names: Vec<&str> = ann.iter().map(|f| f.0.as_str()).collect();
    assert_eq!(names, [".", "f1.png", "f2.png", "f3.png"]);
    let f1_id = w.count(
        "SELECT f.id FROM mdl_files f JOIN mdl_context c ON c.id = f.contextid
         JOIN mdl_user u ON u.id = c.instanceid AND c.contextlevel = 30
         WHERE u.username = 'ann' AND f.filename = 'f1.png'",
    );
    assert_eq!(picture_of(&w, "ann"), f1_id);
    for (name, side) in [("f1.png", 100), ("f2.png", 35), ("f3.png", 512)] {
        let (_, mime, hash) = ann.iter().find(|f| f.0 == name).unwrap();
        assert_eq!(mime.as_deref(), Some("image/png"));
        let bytes = content(&w, hash);
        // Content-addressed: the file's name is its sha1.
        use sha1::Digest;
        let sha: String = sha1::Sha1::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(&sha, hash);
        let img = image::load_from_memory(&bytes).unwrap();
        assert_eq!((img.width(), img.height()), (side, side), "{name}");
    }
    // JPEG stays JPEG; GIF becomes PNG.
    let bob = icon_files(&w, "bob");
    assert!(bob
        .iter()
        .any(|f| f.0 == "f1.jpg" && f.1.as_deref() == Some("image/jpeg")));
    assert!(icon_files(&w, "cat").iter().any(|f| f.0 == "f3.png"));
    assert!(picture_of(&w, "bob") > 0 && picture_of(&w, "cat") > 0);

    let report = w.report();
    assert!(
        report.contains("(x.jpg): failed MS-I104"),
        "a text file named .jpg is refused by its content:\n{report}"
    );
    assert!(report.contains("(nobody.png): failed MS-T009"), "{report}");
    assert!(
        report.contains("note: __MACOSX/._ann.png ignored"),
        "{report}"
    );
    assert!(!report.contains("(__MACOSX/._ann.png)"), "{report}");
    // The tryback lists the failed entries; the archive is archived.
    let tryback = String::from_utf8(w.tryback().unwrap()).unwrap();
    assert_eq!(tryback, "x.jpg\nnobody.png\n");
    assert!(w
        .files("Archives")
        .iter()
        .any(|p| p.to_string_lossy().ends_with("_userpictures_1.zip")));
    // The hash of the image as fed is kept for the sending system.
    let md5 = w.count(
        "SELECT COUNT(*) FROM mdl_user_info_data d JOIN mdl_user_info_field f ON f.id = d.fieldid
         WHERE f.shortname = 'userpicturehash' AND length(d.data) = 32",
    );
    assert_eq!(md5, 3);
}

#[test]
fn the_same_picture_fed_twice_is_skipped_and_a_new_one_replaces_it() {
    let w = setup();
    let red = png([200, 0, 0]);
    w.drop_file("userpictures_a.zip", zip_of(&[("ann.png", &red)]));
    w.run().expect_code(0);
    let first = picture_of(&w, "ann");
    assert!(first > 0);

    // Applied (--full: not skipped as an unchanged row), the plan finds the same image.
    w.drop_file("userpictures_b.zip", zip_of(&[("ann.png", &red)]));
    w.moosync(&["run", "--quiet", "--full"]).expect_code(0);
    assert!(w.report().contains("same MD5"), "{}", w.report());
    assert_eq!(
        picture_of(&w, "ann"),
        first,
        "an unchanged image writes nothing"
    );

    w.drop_file(
        "userpictures_c.zip",
        zip_of(&[("ann.png", &png([0, 0, 200]))]),
    );
    w.run().expect_code(0);
    assert!(w.report().contains("updated picture ann"), "{}", w.report());
    let now = picture_of(&w, "ann");
    assert_ne!(now, first);
    // The old icon rows went: one set of files per user.
    assert_eq!(icon_files(&w, "ann").len(), 4);
}

#[test]
fn overwrite_off_keeps_an_existing_picture() {
    let w = setup();
    w.drop_file(
        "userpictures_a.zip",
        zip_of(&[("ann.png", &png([1, 2, 3]))]),
    );
    w.run().expect_code(0);
    let first = picture_of(&w, "ann");
    w.settings("[pictures]\noverwrite = false\n");
    w.drop_file(
        "userpictures_b.zip",
        zip_of(&[("ann.png", &png([9, 9, 9])), ("bob.png", &png([9, 9, 9]))]),
    );
    w.run().expect_code(0);
    assert_eq!(picture_of(&w, "ann"), first);
    assert!(
        picture_of(&w, "bob") > 0,
        "a user without a picture gets one"
    );
    assert!(w.report().contains("overwrite is off"));
}

#[test]
fn pictures_by_idnumber_from_a_folder() {
    let w = Workdir::new();
    w.drop_file(
        "userimport.csv",
        "username;firstname;lastname;idnumber\nann;Ann;A;S001\n",
    );
    w.run().expect_code(0);
    w.settings("[pictures]\nuser_identifier = \"idnumber\"\n");
    let folder = w.join("inbox/userpictures_2026");
    std::fs::create_dir_all(folder.join("sub")).unwrap();
    std::fs::write(folder.join("sub/S001.png"), png([5, 5, 5])).unwrap();
    w.run().expect_code(0);
    assert!(picture_of(&w, "ann") > 0);
    // The folder moved to the archive whole; nothing is left waiting.
    assert!(!folder.exists());
    let archived = std::fs::read_dir(w.join("Archives"))
        .unwrap()
        .filter_map(|e| e.ok())
        .any(|e| e.path().join("sub/S001.png").is_file());
    assert!(archived);
}

#[test]
fn unsafe_names_and_huge_dimensions_fail_their_entries_only() {
    let w = setup();
    // A GIF header declaring 60000×60000 pixels, with one tiny image descriptor.
    let mut huge = b"GIF89a".to_vec();
    huge.extend_from_slice(&[0x60, 0xEA, 0x60, 0xEA, 0x00, 0x00, 0x00]);
    huge.extend_from_slice(&[
        0x2C, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3B,
    ]);
    w.drop_file(
        "userpictures_x.zip",
        zip_of(&[
            ("../ann.png", &png([1, 1, 1])),
            ("/etc/bob.png", &png([1, 1, 1])),
            ("cat.gif", &huge),
            ("bob.png", &png([1, 1, 1])),
        ]),
    );
    w.run().expect_code(1);
    let report = w.report();
    assert!(report.contains("(../ann.png): failed MS-I103"), "{report}");
    assert!(
        report.contains("(/etc/bob.png): failed MS-I103"),
        "{report}"
    );
    assert!(report.contains("(cat.gif): failed MS-I105"), "{report}");
    assert_eq!(picture_of(&w, "ann"), 0);
    assert_eq!(picture_of(&w, "cat"), 0);
    assert!(picture_of(&w, "bob") > 0, "the good entry still applies");
}

#[test]
fn a_corrupt_zip_is_refused_and_kept() {
    let w = setup();
    let good = zip_of(&[("ann.png", &png([1, 1, 1]))]);
    w.drop_file("userpictures_bad.zip", &good[..good.len() / 2]);
    let out = w.run();
    out.expect_code(2);
    assert!(
        w.report()
            .contains("file refused MS-I009: userpictures_bad.zip is not a readable zip archive"),
        "{}",
        w.report()
    );
    // Named as the operator knows it, never by where a run reads it from.
    for said in [&out.stdout, &w.report()] {
        assert!(!said.contains(".claimed"), "{said}");
    }
    let kept = w.files("Rejected");
    assert_eq!(kept.len(), 1);
    assert_eq!(std::fs::read(&kept[0]).unwrap(), &good[..good.len() / 2]);
    assert_eq!(picture_of(&w, "ann"), 0);
}

#[test]
fn zip_bombs_are_refused_before_unpacking() {
    let w = setup();
    w.settings("[pictures]\nmax_entries = 3\n");
    let p = png([1, 1, 1]);
    w.drop_file(
        "userpictures_many.zip",
        zip_of(&[("a.png", &p), ("b.png", &p), ("c.png", &p), ("d.png", &p)]),
    );
    w.run().expect_code(2);
    assert!(w.report().contains("MS-I010"), "{}", w.report());

    // 4 MiB of zeros deflate to a few KiB: over the 100:1 ratio.
    let w = setup();
    w.drop_file(
        "userpictures_ratio.zip",
        zip_of(&[("ann.png", &vec![0u8; 4 << 20])]),
    );
    w.run().expect_code(2);
    assert!(w.report().contains("MS-I010"), "{}", w.report());
    assert_eq!(w.files("Rejected").len(), 1);
}

#[test]
fn a_dry_run_writes_no_picture_file() {
    let w = setup();
    w.drop_file(
        "userpictures_a.zip",
        zip_of(&[("ann.png", &png([1, 2, 3]))]),
    );
    w.moosync(&["run", "--quiet", "--dry-run"]).expect_code(0);
    assert!(w.report().contains("created picture ann"), "{}", w.report());
    assert_eq!(picture_of(&w, "ann"), 0);
    assert!(
        !w.join("filedir").exists(),
        "a dry run leaves filedir/ alone"
    );
    assert!(w.join("inbox/userpictures_a.zip").is_file());
}

#[test]
fn two_pictures_for_one_user_fail_both_naming_each_other() {
    let w = setup();
    let folder = w.join("inbox/userpictures_2026");
    for sub in ["a", "b"] {
        std::fs::create_dir_all(folder.join(sub)).unwrap();
    }
    std::fs::write(folder.join("a/ann.png"), png([1, 1, 1])).unwrap();
    std::fs::write(folder.join("b/ann.jpg"), jpeg()).unwrap();
    std::fs::write(folder.join("bob.png"), png([2, 2, 2])).unwrap();
    w.run().expect_code(1);
    let report = w.report();
    for entry in ["a/ann.png", "b/ann.jpg"] {
        assert!(
            report.contains(&format!(
                "({entry}): failed MS-I107: entries a/ann.png and b/ann.jpg all give the picture of 'ann'"
            )),
            "{report}"
        );
    }
    assert_eq!(picture_of(&w, "ann"), 0, "neither picture is applied");
    assert!(picture_of(&w, "bob") > 0, "the others still are");
}
