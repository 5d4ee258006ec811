//! An untrusted picture archive: a zip file, or a folder of images.
//!
//! The archive is refused whole at [`open`] when its declared shape is a zip bomb (too many
//! entries, too much unpacked data, a suspicious compression ratio). Entries are then read one at
//! a time into memory by [`PictureArchive::read`], which trusts no declared size and fails only
//! that entry when it is unsafe, too large or damaged. Nothing is ever extracted to disk.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use walkdir::WalkDir;
use zip::ZipArchive;

use crate::codes::{Code, Failure};

const MIB: u64 = 1024 * 1024;

/// Entries up to this size skip the ratio check: small files (an all-white PNG, a text file)
/// legitimately compress far better than 100:1, and cannot amount to a bomb on their own.
const RATIO_FLOOR: u64 = MIB;

/// The zip signatures an archive may start with: a local file header, an empty archive's end of
/// central directory, and the marker of a spanned archive.
const ZIP_SIGNATURES: [[u8; 4]; 3] = [*b"PK\x03\x04", *b"PK\x05\x06", *b"PK\x07\x08"];

/// What an archive may hold before it is refused as a zip bomb.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Entries of any kind, directories included.
    pub max_entries: usize,
    /// Total unpacked bytes: the declared sum at open, the actual sum across reads.
    pub max_unpacked_bytes: u64,
    /// Largest unpacked / packed ratio of one entry over 1 MiB.
    pub max_ratio: u64,
    /// Largest unpacked size of one entry.
    pub max_entry_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_entries: 20_000,
            max_unpacked_bytes: 2048 * MIB,
            max_ratio: 100,
            max_entry_bytes: 20 * MIB,
        }
    }
}

/// One file of the archive to process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The path inside the archive, '/'-separated, as stored.
    pub name: String,
    /// The file name without its last extension: "a/jdoe.jpg" -> "jdoe", "j.doe.png" -> "j.doe".
    pub stem: String,
}

/// An entry skipped on purpose, and what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ignored {
    pub name: String,
    /// "a macOS resource fork", "a hidden file", "a symbolic link", "a FIFO (named pipe)"…
    pub what: &'static str,
}

/// An opened archive; see [`open`].
#[derive(Debug)]
pub struct PictureArchive {
    /// The archive's file name, as messages name it (never the path it is read from, such
    /// as `inbox/.claimed/`).
    shown: String,
    source: Source,
    limits: Limits,
    entries: Vec<Entry>,
    /// Parallel to `entries`.
    slots: Vec<Slot>,
    ignored: Vec<Ignored>,
    /// Bytes actually unpacked so far, whatever the entries declared.
    unpacked: u64,
}

#[derive(Debug)]
enum Source {
    Zip(Box<ZipArchive<BufReader<File>>>),
    Folder,
}

/// Where an entry's bytes are, and what `open` learnt about it.
#[derive(Debug)]
struct Slot {
    location: Location,
    declared: u64,
    safe: bool,
    /// Every entry (this one included) whose file name gives the same user, when there are
    /// several: none of them is applied.
    namesakes: Option<Vec<String>>,
    /// How many entries of a zip have this very name (the zip reader lists it once).
    copies: usize,
}

#[derive(Debug)]
enum Location {
    Zip(usize),
    File(PathBuf),
}

/// Opens `path`: a directory is read as a folder of images, a regular file must be a zip archive
/// (decided by its content, not its extension).
pub fn open(path: &Path, limits: &Limits) -> Result<PictureArchive, Failure> {
    let shown = crate::source::file_name_of(path);
    let meta = fs::metadata(path).map_err(|e| {
        Failure::new(
            Code::ArchiveUnreadable,
            format!("{shown} cannot be read: {e}; check that it exists and is readable"),
        )
    })?;
    if meta.is_dir() {
        open_folder(path, &shown, limits)
    } else if meta.is_file() {
        open_zip(path, &shown, limits)
    } else {
        // A FIFO, socket or device: told by its metadata, never opened.
        Err(crate::filekind::refusal(
            &shown,
            crate::filekind::describe(meta.file_type()),
        ))
    }
}

impl PictureArchive {
    /// The entries to process, in archive order: central directory order for a zip, sorted by
    /// relative path for a folder.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Entries skipped on purpose: macOS resource forks (`__MACOSX/`), hidden files
    /// (`.DS_Store`) and, in a folder, symlinks and special files. Directories are not listed.
    pub fn ignored(&self) -> &[Ignored] {
        &self.ignored
    }

    /// Unpacks entry `index` (into [`entries`](Self::entries)) into memory.
    pub fn read(&mut self, index: usize) -> Result<Vec<u8>, Failure> {
        let (Some(entry), Some(slot)) = (self.entries.get(index), self.slots.get(index)) else {
            return Err(Failure::new(
                Code::ArchiveUnreadable,
                format!(
                    "{} has no entry number {index} (it has {}); this is a bug in moosync, please report it",
                    self.shown,
                    self.entries.len()
                ),
            ));
        };
        let name = &entry.name;
        if !slot.safe {
            return Err(Failure::new(
                Code::EntryUnsafeName,
                format!(
                    "entry {name} is an absolute path or climbs out with '..'; it was not unpacked, \
                     rename it inside the archive to a plain relative name such as jdoe.jpg"
                ),
            ));
        }
        if let Some(all) = &slot.namesakes {
            return Err(Failure::new(
                Code::EntryDuplicateUser,
                format!(
                    "entries {} all give the picture of '{}': none of them is applied,                      keep one in the archive",
                    and_list(all),
                    entry.stem
                ),
            ));
        }
        let max_entry = self.limits.max_entry_bytes;
        if slot.declared > max_entry {
            return Err(Failure::new(
                Code::ImageTooLarge,
                format!(
                    "entry {name} is {} unpacked; the limit is {} ([pictures] max_image_mb), \
                     shrink the image or raise the limit",
                    size_text(slot.declared),
                    size_text(max_entry)
                ),
            ));
        }
        // Sizes in the archive are only claims: read at most one byte past what may still be
        // unpacked, so a lying entry costs no more than the limits allow.
        let remaining = self.limits.max_unpacked_bytes.saturating_sub(self.unpacked);
        let cap = max_entry.min(remaining);
        let mut bytes = Vec::with_capacity(usize::try_from(slot.declared.min(cap)).unwrap_or(0));
        let corrupt = |cause: String| {
            Failure::new(
                Code::ImageCorrupt,
                format!(
                    "entry {name} cannot be unpacked: {cause}; the archive is damaged, \
                     re-create it from the original image"
                ),
            )
        };
        let result = match (&mut self.source, &slot.location) {
            (Source::Zip(zip), Location::Zip(i)) => {
                let method = zip.by_index_data(*i).map(|d| d.compression());
                let method = method.map_err(|e| corrupt(e.to_string()))?;
                if !matches!(
                    method,
                    zip::CompressionMethod::Stored | zip::CompressionMethod::Deflated
                ) {
                    return Err(Failure::new(
                        Code::ImageCorrupt,
                        format!(
                            "entry {name} is compressed with {method:?}, which moosync does not \
                             read; re-create the archive with the usual (deflate) compression"
                        ),
                    ));
                }
                let encrypted = zip.by_index_data(*i).map(|d| d.encrypted());
                if encrypted.map_err(|e| corrupt(e.to_string()))? {
                    return Err(Failure::new(
                        Code::ImageCorrupt,
                        format!(
                            "entry {name} is encrypted; encrypted entries are not supported, \
                             re-create the archive without a password"
                        ),
                    ));
                }
                let file = zip.by_index(*i).map_err(|e| corrupt(e.to_string()))?;
                file.take(cap.saturating_add(1)).read_to_end(&mut bytes)
            }
            (Source::Folder, Location::File(path)) => open_regular(path)
                .and_then(|file| file.take(cap.saturating_add(1)).read_to_end(&mut bytes)),
            _ => Err(io::Error::other("entry and archive kinds differ")),
        };
        let got = bytes.len() as u64;
        self.unpacked = self.unpacked.saturating_add(got);
        result.map_err(|e| corrupt(e.to_string()))?;
        if got > max_entry {
            return Err(Failure::new(
                Code::ImageTooLarge,
                format!(
                    "entry {name} unpacks to more than {}, although it declared {}; the limit is {} \
                     ([pictures] max_image_mb), shrink the image or raise the limit",
                    size_text(max_entry),
                    size_text(slot.declared),
                    size_text(max_entry)
                ),
            ));
        }
        if got > remaining {
            return Err(Failure::new(
                Code::ArchiveOverLimits,
                format!(
                    "entry {name} takes {} past {} unpacked in all ([pictures] max_unpacked_mb), \
                     more than its entries declared; the archive looks forged, \
                     re-create it from the original images",
                    self.shown,
                    size_text(self.limits.max_unpacked_bytes)
                ),
            ));
        }
        Ok(bytes)
    }
}

fn open_zip(path: &Path, shown: &str, limits: &Limits) -> Result<PictureArchive, Failure> {
    let unreadable = |cause: String| {
        Failure::new(
            Code::ArchiveUnreadable,
            format!(
                "{} is not a readable zip archive: {cause}; the file is kept, \
                 replace it with a complete archive",
                shown
            ),
        )
    };
    let mut file = crate::filekind::open_regular(path).map_err(|e| unreadable(e.to_string()))?;
    let mut magic = [0u8; 4];
    let starts_as_zip = match file.read_exact(&mut magic) {
        Ok(()) => ZIP_SIGNATURES.contains(&magic),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => false,
        Err(e) => return Err(unreadable(e.to_string())),
    };
    if !starts_as_zip {
        return Err(unreadable(
            "it does not start with a zip signature (PK), so it is something else or empty".into(),
        ));
    }
    file.seek(SeekFrom::Start(0))
        .map_err(|e| unreadable(e.to_string()))?;
    let zip = ZipArchive::new(BufReader::new(file)).map_err(|e| unreadable(e.to_string()))?;

    let count = zip.len();
    if count > limits.max_entries {
        return Err(over_limits(format!(
            "{} holds {count} entries; the limit is {} ([pictures] max_entries), \
             split it into smaller archives",
            shown, limits.max_entries
        )));
    }
    let mut declared_total: u64 = 0;
    let mut entries = Vec::new();
    let mut slots = Vec::new();
    let mut ignored = Vec::new();
    for i in 0..count {
        let data = zip
            .by_index_data(i)
            .map_err(|e| unreadable(e.to_string()))?;
        // Names are UTF-8 or CP437; a name neither decodes to stays visible, lossily.
        let name = match data.name() {
            Ok(name) => name.into_owned(),
            Err(_) => String::from_utf8_lossy(data.name_raw()).into_owned(),
        };
        let (size, packed) = (data.size(), data.compressed_size());
        declared_total = declared_total.saturating_add(size);
        if size > RATIO_FLOOR && size > packed.saturating_mul(limits.max_ratio) {
            return Err(over_limits(format!(
                "entry {name} of {} unpacks {} from {}, over the {}:1 compression ratio allowed \
                 ([pictures] max_ratio); this is how a zip bomb looks, re-create the archive \
                 from the original images",
                shown,
                size_text(size),
                size_text(packed),
                limits.max_ratio
            )));
        }
        if data.is_dir() {
            continue;
        }
        push_named(
            &mut entries,
            &mut slots,
            &mut ignored,
            name,
            size,
            Location::Zip(i),
        );
    }
    // The zip reader keeps one entry per name: a name the directory gives several entries is
    // counted there, so no copy of it is applied in silence.
    if zip.has_duplicate_names() {
        let copies = names_in_directory(path, zip.central_directory_start(), limits.max_entries)
            .map_err(|e| {
                unreadable(format!(
                    "it gives one name to several entries, and its directory cannot be read to tell which ({e})"
                ))
            })?;
        for slot in &mut slots {
            if let Location::Zip(i) = slot.location {
                let data = zip
                    .by_index_data(i)
                    .map_err(|e| unreadable(e.to_string()))?;
                slot.copies = copies.get(data.name_raw()).copied().unwrap_or(1);
            }
        }
    }
    if declared_total > limits.max_unpacked_bytes {
        return Err(over_limits(format!(
            "{} unpacks to {}; the limit is {} ([pictures] max_unpacked_mb), \
             split it into smaller archives",
            shown,
            size_text(declared_total),
            size_text(limits.max_unpacked_bytes)
        )));
    }
    mark_namesakes(&entries, &mut slots);
    Ok(PictureArchive {
        shown: shown.to_string(),
        source: Source::Zip(Box::new(zip)),
        limits: *limits,
        entries,
        slots,
        ignored,
        unpacked: 0,
    })
}

fn open_folder(root: &Path, shown: &str, limits: &Limits) -> Result<PictureArchive, Failure> {
    let mut found: Vec<(String, PathBuf, u64)> = Vec::new();
    let mut ignored = Vec::new();
    let mut seen = 0usize;
    let mut total: u64 = 0;
    // Symlinks are listed, never followed: they could reach any file the process can read.
    for item in WalkDir::new(root).follow_links(false).min_depth(1) {
        let item = item.map_err(|e| {
            Failure::new(
                Code::ArchiveUnreadable,
                format!(
                    "folder {} cannot be read: {e}; fix the permissions or remove what cannot be read",
                    shown
                ),
            )
        })?;
        seen += 1;
        if seen > limits.max_entries {
            return Err(over_limits(format!(
                "folder {} holds more than {} entries ([pictures] max_entries); \
                 split it into smaller folders",
                shown, limits.max_entries
            )));
        }
        let kind = item.file_type();
        if kind.is_dir() {
            continue;
        }
        let rel = relative_name(root, item.path());
        if !kind.is_file() {
            // Listed as it is, never followed nor opened.
            ignored.push(Ignored {
                name: rel,
                what: crate::filekind::describe(kind),
            });
            continue;
        }
        let size = item.metadata().map(|m| m.len()).unwrap_or(0);
        total = total.saturating_add(size);
        if total > limits.max_unpacked_bytes {
            return Err(over_limits(format!(
                "folder {} holds more than {} of files ([pictures] max_unpacked_mb); \
                 split it into smaller folders",
                shown,
                size_text(limits.max_unpacked_bytes)
            )));
        }
        found.push((rel, item.into_path(), size));
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    let mut entries = Vec::new();
    let mut slots = Vec::new();
    for (name, path, size) in found {
        push_named(
            &mut entries,
            &mut slots,
            &mut ignored,
            name,
            size,
            Location::File(path),
        );
    }
    ignored.sort_by(|a, b| a.name.cmp(&b.name));
    mark_namesakes(&entries, &mut slots);
    Ok(PictureArchive {
        shown: shown.to_string(),
        source: Source::Folder,
        limits: *limits,
        entries,
        slots,
        ignored,
        unpacked: 0,
    })
}

/// Files an entry by its name: dropped (a directory-like name), ignored, or to process.
fn push_named(
    entries: &mut Vec<Entry>,
    slots: &mut Vec<Slot>,
    ignored: &mut Vec<Ignored>,
    name: String,
    declared: u64,
    location: Location,
) {
    let safe = !is_unsafe(&name);
    let file = file_name(&name);
    if file.is_empty() {
        return;
    }
    // An unsafe name is never quietly skipped: it must show up as a failed row.
    if let Some(what) = safe.then(|| litter(&name)).flatten() {
        ignored.push(Ignored { name, what });
        return;
    }
    let stem = stem_of(file).to_string();
    entries.push(Entry { name, stem });
    slots.push(Slot {
        location,
        declared,
        safe,
        namesakes: None,
        copies: 1,
    });
}

/// Marks the entries whose file names give the same user (`a/jdoe.jpg` and `b/jdoe.png`,
/// or one name twice in a zip), compared without case as Moodle compares usernames: which
/// one is the picture cannot be told, so each fails its row naming all of them. Unsafe names
/// fail on their own and are not counted.
fn mark_namesakes(entries: &[Entry], slots: &mut [Slot]) {
    let mut by_user: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, (entry, slot)) in entries.iter().zip(slots.iter()).enumerate() {
        if slot.safe {
            by_user
                .entry(entry.stem.to_lowercase())
                .or_default()
                .push(i);
        }
    }
    for same in by_user.into_values() {
        let names: Vec<String> = same
            .iter()
            .flat_map(|&i| std::iter::repeat_n(entries[i].name.clone(), slots[i].copies))
            .collect();
        if names.len() < 2 {
            continue;
        }
        for i in same {
            slots[i].namesakes = Some(names.clone());
        }
    }
}

/// How many central directory records give each raw name, read from the directory at `start`
/// (at most `max_entries` records: past that, the archive is over its limits anyway).
fn names_in_directory(
    path: &Path,
    start: u64,
    max_entries: usize,
) -> io::Result<HashMap<Vec<u8>, usize>> {
    let mut file = BufReader::new(crate::filekind::open_regular(path)?);
    file.seek(SeekFrom::Start(start))?;
    let mut counts: HashMap<Vec<u8>, usize> = HashMap::new();
    let mut head = [0u8; 46];
    for _ in 0..=max_entries {
        match file.read_exact(&mut head) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(e),
        }
        // A central directory file header; anything else ends the directory.
        if head[..4] != *b"PK\x01\x02" {
            break;
        }
        let len = |at: usize| usize::from(u16::from_le_bytes([head[at], head[at + 1]]));
        let mut name = vec![0u8; len(28)];
        file.read_exact(&mut name)?;
        file.seek_relative((len(30) + len(32)) as i64)?;
        *counts.entry(name).or_default() += 1;
    }
    if counts.is_empty() {
        return Err(io::Error::other("no directory record where the zip says"));
    }
    Ok(counts)
}

/// "a, b and c".
fn and_list(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// An absolute path (`/x`, `\x`, `C:x`), a `..` component under either separator, or a NUL.
fn is_unsafe(name: &str) -> bool {
    let b = name.as_bytes();
    let drive = b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':';
    name.starts_with(['/', '\\'])
        || drive
        || name.contains('\0')
        || name.split(['/', '\\']).any(|part| part == "..")
}

/// macOS resource forks and hidden files, which are not pictures of anyone: what they are.
fn litter(name: &str) -> Option<&'static str> {
    let mut parts: Vec<&str> = name.split(['/', '\\']).collect();
    let file = parts.pop().unwrap_or_default();
    if parts.contains(&"__MACOSX") {
        Some("a macOS resource fork")
    } else if file.starts_with('.') {
        Some("a hidden file")
    } else {
        None
    }
}

fn file_name(name: &str) -> &str {
    name.rsplit(['/', '\\']).next().unwrap_or(name)
}

fn stem_of(file: &str) -> &str {
    match file.rfind('.') {
        Some(dot) if dot > 0 => &file[..dot],
        _ => file,
    }
}

fn relative_name(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    parts.join("/")
}

/// Opens a folder entry only if it is still a regular file: it may have been swapped for a
/// symlink or a FIFO since the walk; a symlink is never followed, a FIFO never waited on.
fn open_regular(path: &Path) -> io::Result<File> {
    let link = fs::symlink_metadata(path)?;
    if !link.file_type().is_file() {
        return Err(io::Error::other(format!(
            "it is now {}, no longer a regular file",
            crate::filekind::describe(link.file_type())
        )));
    }
    let file = crate::filekind::open_regular(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let opened = file.metadata()?;
        if (opened.dev(), opened.ino()) != (link.dev(), link.ino()) {
            return Err(io::Error::other("it was replaced while being read"));
        }
    }
    Ok(file)
}

fn over_limits(message: String) -> Failure {
    Failure::new(Code::ArchiveOverLimits, message)
}

/// "20 MiB", "1.5 MiB", "12.0 KiB", "300 bytes".
fn size_text(bytes: u64) -> String {
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= MIB {
        format!("{:.1} MiB", bytes as f64 / MIB as f64)
    } else if bytes >= 1024 {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    } else {
        format!("{bytes} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use zip::write::SimpleFileOptions;
    use zip::{CompressionMethod, ZipWriter};

    fn stored() -> SimpleFileOptions {
        SimpleFileOptions::default().compression_method(CompressionMethod::Stored)
    }

    /// Writes a zip of `(name, bytes)` files; a name ending in '/' is a directory entry.
    fn write_zip(dir: &Path, files: &[(&str, &[u8])]) -> PathBuf {
        let path = dir.join("pictures.zip");
        let mut zip = ZipWriter::new(File::create(&path).unwrap());
        for (name, bytes) in files {
            if name.ends_with('/') {
                zip.add_directory(*name, stored()).unwrap();
            } else {
                zip.start_file(*name, stored()).unwrap();
                zip.write_all(bytes).unwrap();
            }
        }
        zip.finish().unwrap();
        path
    }

    fn names(archive: &PictureArchive) -> Vec<&str> {
        archive.entries().iter().map(|e| e.name.as_str()).collect()
    }

    fn ignored(archive: &PictureArchive) -> Vec<(&str, &str)> {
        archive
            .ignored()
            .iter()
            .map(|i| (i.name.as_str(), i.what))
            .collect()
    }

    #[cfg(unix)]
    fn mkfifo(path: &Path) {
        let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    }

    #[test]
    fn zip_lists_pictures_drops_directories_and_ignores_macos_litter() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_zip(
            dir.path(),
            &[
                ("a.png", b"png bytes"),
                ("sub/", b""),
                ("sub/b.jpg", b"jpg bytes"),
                ("__MACOSX/._a.png", b"fork"),
                (".DS_Store", b"ds"),
            ],
        );
        let mut archive = open(&path, &Limits::default()).unwrap();
        assert_eq!(names(&archive), ["a.png", "sub/b.jpg"]);
        let stems: Vec<&str> = archive.entries().iter().map(|e| e.stem.as_str()).collect();
        assert_eq!(stems, ["a", "b"]);
        assert_eq!(
            ignored(&archive),
            [
                ("__MACOSX/._a.png", "a macOS resource fork"),
                (".DS_Store", "a hidden file")
            ]
        );
        assert_eq!(archive.read(1).unwrap(), b"jpg bytes");
        assert_eq!(archive.read(0).unwrap(), b"png bytes");
        assert_eq!(archive.read(2).unwrap_err().code, Code::ArchiveUnreadable);
    }

    #[test]
    fn entries_giving_the_same_user_all_fail_naming_each_other() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_zip(
            dir.path(),
            &[
                ("a/jdoe.jpg", b"one"),
                ("ann.png", b"ann"),
                ("b/JDoe.png", b"two"),
                ("jdoe.gif", b"three"),
                ("../ann.png", b"unsafe"),
            ],
        );
        let mut archive = open(&path, &Limits::default()).unwrap();
        for i in [0, 2, 3] {
            let failure = archive.read(i).unwrap_err();
            assert_eq!(failure.code, Code::EntryDuplicateUser);
            assert!(
                failure
                    .message
                    .contains("entries a/jdoe.jpg, b/JDoe.png and jdoe.gif all give the picture"),
                "{}",
                failure.message
            );
        }
        assert_eq!(archive.unpacked, 0, "none of them was unpacked");
        // An unsafe name fails on its own and does not make a safe one a namesake.
        assert_eq!(archive.read(1).unwrap(), b"ann");
        assert_eq!(archive.read(4).unwrap_err().code, Code::EntryUnsafeName);

        // The same name twice in one zip (zip writers refuse it, so the name is patched in).
        let dir = tempfile::tempdir().unwrap();
        let path = write_zip(dir.path(), &[("jdoe.jpg", b"one"), ("jdoX.jpg", b"two")]);
        let mut bytes = fs::read(&path).unwrap();
        while let Some(at) = bytes.windows(8).position(|w| w == b"jdoX.jpg") {
            bytes[at + 3] = b'e';
        }
        fs::write(&path, &bytes).unwrap();
        let mut archive = open(&path, &Limits::default()).unwrap();
        // The zip reader lists the name once: its one row fails, naming both copies.
        assert_eq!(names(&archive), ["jdoe.jpg"]);
        let failure = archive.read(0).unwrap_err();
        assert_eq!(failure.code, Code::EntryDuplicateUser);
        assert!(
            failure.message.contains("entries jdoe.jpg and jdoe.jpg"),
            "{}",
            failure.message
        );
    }

    #[test]
    fn stems_drop_only_the_last_extension() {
        assert_eq!(stem_of(file_name("a/jdoe.jpg")), "jdoe");
        assert_eq!(stem_of(file_name("jdoe")), "jdoe");
        assert_eq!(stem_of(file_name("j.doe.png")), "j.doe");
        assert_eq!(stem_of(file_name("old\\x.gif")), "x");
    }

    #[test]
    fn unsafe_names_are_listed_but_never_unpacked() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_zip(
            dir.path(),
            &[
                ("../evil.jpg", b"x"),
                ("/abs.jpg", b"x"),
                ("a\\..\\..\\win.jpg", b"x"),
                ("C:\\drive.jpg", b"x"),
                ("ok.jpg", b"x"),
            ],
        );
        let mut archive = open(&path, &Limits::default()).unwrap();
        assert_eq!(
            names(&archive),
            [
                "../evil.jpg",
                "/abs.jpg",
                "a\\..\\..\\win.jpg",
                "C:\\drive.jpg",
                "ok.jpg"
            ]
        );
        assert_eq!(archive.entries()[0].stem, "evil");
        for i in 0..4 {
            let failure = archive.read(i).unwrap_err();
            assert_eq!(failure.code, Code::EntryUnsafeName, "{}", failure.message);
            assert!(failure.message.contains(&archive.entries()[i].name));
        }
        assert_eq!(archive.read(4).unwrap(), b"x");
        assert_eq!(archive.unpacked, 1, "unsafe entries must not be unpacked");
    }

    #[test]
    fn too_many_entries_refuse_the_archive() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_zip(
            dir.path(),
            &[
                ("a.jpg", b"1"),
                ("b.jpg", b"2"),
                ("c.jpg", b"3"),
                ("d.jpg", b"4"),
            ],
        );
        let limits = Limits {
            max_entries: 3,
            ..Limits::default()
        };
        let failure = open(&path, &limits).unwrap_err();
        assert_eq!(failure.code, Code::ArchiveOverLimits);
        assert!(failure.message.contains("4 entries"), "{}", failure.message);
        assert!(open(
            &path,
            &Limits {
                max_entries: 4,
                ..limits
            }
        )
        .is_ok());
    }

    #[test]
    fn a_highly_compressed_entry_refuses_the_archive() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bomb.zip");
        let mut zip = ZipWriter::new(File::create(&path).unwrap());
        let deflated = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .compression_level(Some(1));
        zip.start_file("bomb.jpg", deflated).unwrap();
        let zeros = vec![0u8; MIB as usize];
        for _ in 0..50 {
            zip.write_all(&zeros).unwrap();
        }
        zip.finish().unwrap();
        let failure = open(&path, &Limits::default()).unwrap_err();
        assert_eq!(failure.code, Code::ArchiveOverLimits);
        assert!(failure.message.contains("bomb.jpg"), "{}", failure.message);
        assert!(failure.message.contains("max_ratio"), "{}", failure.message);
    }

    #[test]
    fn declared_total_over_the_limit_refuses_the_archive() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_zip(
            dir.path(),
            &[("a.jpg", &[7u8; 600]), ("b.jpg", &[7u8; 600])],
        );
        let limits = Limits {
            max_unpacked_bytes: 1000,
            ..Limits::default()
        };
        assert_eq!(
            open(&path, &limits).unwrap_err().code,
            Code::ArchiveOverLimits
        );
    }

    #[test]
    fn the_actual_unpacked_total_is_enforced_across_reads() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_zip(
            dir.path(),
            &[("a.jpg", &[7u8; 600]), ("b.jpg", &[7u8; 600])],
        );
        let mut archive = open(&path, &Limits::default()).unwrap();
        // As if the archive had declared less than it holds.
        archive.limits.max_unpacked_bytes = 1000;
        assert_eq!(archive.read(0).unwrap().len(), 600);
        let failure = archive.read(1).unwrap_err();
        assert_eq!(failure.code, Code::ArchiveOverLimits);
        assert!(failure.message.contains("b.jpg"), "{}", failure.message);
    }

    #[test]
    fn an_entry_over_the_size_limit_fails_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_zip(
            dir.path(),
            &[("big.jpg", &[1u8; 2000]), ("small.jpg", b"ok")],
        );
        let limits = Limits {
            max_entry_bytes: 1000,
            ..Limits::default()
        };
        let mut archive = open(&path, &limits).unwrap();
        let failure = archive.read(0).unwrap_err();
        assert_eq!(failure.code, Code::ImageTooLarge);
        assert!(failure.message.contains("big.jpg"), "{}", failure.message);
        assert_eq!(archive.read(1).unwrap(), b"ok");
    }

    #[test]
    fn an_entry_larger_than_declared_is_cut_off() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_zip(dir.path(), &[("big.jpg", &[1u8; 2000])]);
        let mut archive = open(&path, &Limits::default()).unwrap();
        // As if the header had claimed a small size: the read limit must still hold.
        archive.slots[0].declared = 10;
        archive.limits.max_entry_bytes = 1000;
        let failure = archive.read(0).unwrap_err();
        assert_eq!(failure.code, Code::ImageTooLarge);
        assert!(archive.unpacked <= 1001);
    }

    /// Sets a general purpose flag bit in every local and central header of a zip.
    fn set_flag(bytes: &mut [u8], bit: u8) {
        for i in 0..bytes.len().saturating_sub(10) {
            match &bytes[i..i + 4] {
                b"PK\x03\x04" => bytes[i + 6] |= bit,
                b"PK\x01\x02" => bytes[i + 8] |= bit,
                _ => {}
            }
        }
    }

    #[test]
    fn a_damaged_or_encrypted_entry_fails_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_zip(
            dir.path(),
            &[("bad.jpg", b"0123456789abcdef"), ("good.jpg", b"ok")],
        );
        let mut bytes = fs::read(&path).unwrap();
        let at = bytes
            .windows(16)
            .position(|w| w == b"0123456789abcdef")
            .unwrap();
        bytes[at] = b'X'; // The CRC no longer matches.
        fs::write(&path, &bytes).unwrap();
        let mut archive = open(&path, &Limits::default()).unwrap();
        let failure = archive.read(0).unwrap_err();
        assert_eq!(failure.code, Code::ImageCorrupt);
        assert!(failure.message.contains("bad.jpg"), "{}", failure.message);
        assert_eq!(archive.read(1).unwrap(), b"ok");

        set_flag(&mut bytes, 1);
        fs::write(&path, &bytes).unwrap();
        let mut archive = open(&path, &Limits::default()).unwrap();
        let failure = archive.read(1).unwrap_err();
        assert_eq!(failure.code, Code::ImageCorrupt);
        assert!(failure.message.contains("encrypted"), "{}", failure.message);
    }

    #[test]
    fn truncated_zips_and_other_files_are_unreadable() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_zip(
            dir.path(),
            &[("a.jpg", &[5u8; 300]), ("b.jpg", &[6u8; 300])],
        );
        let bytes = fs::read(&path).unwrap();
        fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        let failure = open(&path, &Limits::default()).unwrap_err();
        assert_eq!(failure.code, Code::ArchiveUnreadable);
        assert!(
            failure.message.contains("replace it"),
            "{}",
            failure.message
        );

        for (name, content) in [("notes.zip", &b"just some text\n"[..]), ("empty.zip", b"")] {
            let text = dir.path().join(name);
            fs::write(&text, content).unwrap();
            let failure = open(&text, &Limits::default()).unwrap_err();
            assert_eq!(failure.code, Code::ArchiveUnreadable);
            assert!(failure.message.contains(name), "{}", failure.message);
        }
        let missing = open(&dir.path().join("missing.zip"), &Limits::default()).unwrap_err();
        assert_eq!(missing.code, Code::ArchiveUnreadable);
    }

    #[cfg(unix)]
    #[test]
    fn folders_are_walked_in_order_without_following_symlinks() {
        let outside = tempfile::tempdir().unwrap();
        fs::write(outside.path().join("secret.jpg"), b"secret").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("b")).unwrap();
        fs::create_dir_all(root.join("__MACOSX")).unwrap();
        fs::write(root.join("c.png"), b"c").unwrap();
        fs::write(root.join("b/jdoe.jpg"), b"jdoe").unwrap();
        fs::write(root.join("a.gif"), b"a").unwrap();
        fs::write(root.join(".DS_Store"), b"ds").unwrap();
        fs::write(root.join("__MACOSX/._c.png"), b"fork").unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret.jpg"), root.join("link.jpg"))
            .unwrap();
        std::os::unix::fs::symlink(outside.path(), root.join("linkdir")).unwrap();
        // A FIFO is never opened: no writer ever comes, so opening it would hang the test.
        mkfifo(&root.join("pipe.jpg"));

        let mut archive = open(root, &Limits::default()).unwrap();
        assert_eq!(names(&archive), ["a.gif", "b/jdoe.jpg", "c.png"]);
        assert_eq!(archive.entries()[1].stem, "jdoe");
        assert_eq!(
            ignored(&archive),
            [
                (".DS_Store", "a hidden file"),
                ("__MACOSX/._c.png", "a macOS resource fork"),
                ("link.jpg", "a symbolic link"),
                ("linkdir", "a symbolic link"),
                ("pipe.jpg", "a FIFO (named pipe)")
            ]
        );
        assert_eq!(archive.read(1).unwrap(), b"jdoe");

        // A file swapped for a symlink after the walk is not followed either.
        fs::remove_file(root.join("c.png")).unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret.jpg"), root.join("c.png")).unwrap();
        assert_eq!(archive.read(2).unwrap_err().code, Code::ImageCorrupt);
        // Nor is one swapped for a FIFO waited on.
        fs::remove_file(root.join("a.gif")).unwrap();
        mkfifo(&root.join("a.gif"));
        let failure = archive.read(0).unwrap_err();
        assert!(failure.message.contains("a FIFO"), "{}", failure.message);
    }

    #[cfg(unix)]
    #[test]
    fn a_special_file_given_as_the_archive_is_refused_unopened() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("userpictures_x.zip");
        mkfifo(&fifo);
        let failure = open(&fifo, &Limits::default()).unwrap_err();
        assert_eq!(failure.code, Code::NotRegularFile);
        assert!(
            failure.message.contains("is a FIFO (named pipe)"),
            "{}",
            failure.message
        );
    }

    #[test]
    fn folders_obey_the_same_limits() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["a.jpg", "b.jpg", "c.jpg"] {
            fs::write(dir.path().join(name), [0u8; 100]).unwrap();
        }
        let strict = |limits: Limits| open(dir.path(), &limits).unwrap_err().code;
        let base = Limits::default();
        let few = Limits {
            max_entries: 2,
            ..base
        };
        assert_eq!(strict(few), Code::ArchiveOverLimits);
        let small = Limits {
            max_unpacked_bytes: 250,
            ..base
        };
        assert_eq!(strict(small), Code::ArchiveOverLimits);
        let tiny = Limits {
            max_entry_bytes: 50,
            ..base
        };
        let mut archive = open(dir.path(), &tiny).unwrap();
        assert_eq!(archive.read(0).unwrap_err().code, Code::ImageTooLarge);
    }
}
