//! What a path is, told from its metadata alone, and opening an input only when it is a
//! regular file. A FIFO blocks a read until someone writes, a device may never end, a socket
//! cannot be read at all: none of them is ever opened for reading, and the message says which
//! it is, so the operator knows what was dropped.

use crate::codes::{Code, Failure};
use std::fs::{self, File, FileType};
use std::io;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// "a FIFO (named pipe)", "a folder", …: what a file of this type is, for a message.
pub fn describe(kind: FileType) -> &'static str {
    if kind.is_file() {
        "a regular file"
    } else if kind.is_dir() {
        "a folder"
    } else if kind.is_symlink() {
        "a symbolic link"
    } else if kind.is_fifo() {
        "a FIFO (named pipe)"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else {
        "not a regular file"
    }
}

/// What `path` is when it is not a regular file, following a link as `open` would (a path the
/// operator named may be a link to the file); None for a regular file. Nothing is opened.
pub fn not_regular(path: &Path) -> io::Result<Option<&'static str>> {
    let kind = fs::metadata(path)?.file_type();
    Ok((!kind.is_file()).then(|| describe(kind)))
}

/// The refusal of an input that is not a regular file (MS-I012). `shown` is the name the user
/// knows it by.
pub fn refusal(shown: &str, what: &str) -> Failure {
    Failure::new(
        Code::NotRegularFile,
        format!(
            "{shown} is {what}, not a regular file; moosync reads only regular files (and, for the pictures tool, folders of images): save the data to a file and give that"
        ),
    )
}

/// Opens an input file for reading, or says why not: MS-I012 when it is not a regular file
/// (never waited on), MS-I001 when it cannot be read.
pub fn open_input(path: &Path, shown: &str) -> Result<File, Failure> {
    open_regular(path).map_err(|e| match refused_kind(&e) {
        Some(what) => refusal(shown, what),
        None => Failure::new(Code::FileUnreadable, format!("{shown}: cannot read: {e}")),
    })
}

/// Opens `path` for reading only if it is a regular file, and never blocks doing so. The
/// metadata is checked first, so a device (whose open alone may act: a tape rewinds) is not
/// opened; the open does not wait for a FIFO's writer (O_NONBLOCK, which changes nothing for
/// a regular file); and what was opened is checked again, so a file swapped for a FIFO
/// between the two is still refused. The error of a non-regular file names what it is.
pub fn open_regular(path: &Path) -> io::Result<File> {
    if let Some(what) = not_regular(path)? {
        return Err(not_a_file(what));
    }
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    let kind = file.metadata()?.file_type();
    if !kind.is_file() {
        return Err(not_a_file(describe(kind)));
    }
    Ok(file)
}

/// The error `open_regular` gives for what is not a regular file: "it is a FIFO (named
/// pipe), not a regular file".
#[derive(Debug)]
struct NotRegular(&'static str);

impl std::fmt::Display for NotRegular {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "it is {}, not a regular file", self.0)
    }
}

impl std::error::Error for NotRegular {}

fn not_a_file(what: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, NotRegular(what))
}

/// What the path was, when `e` is `open_regular` refusing a file that is not regular.
pub fn refused_kind(e: &io::Error) -> Option<&'static str> {
    e.get_ref()?.downcast_ref::<NotRegular>().map(|n| n.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mkfifo(path: &Path) {
        let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    }

    #[test]
    fn a_fifo_is_named_and_never_waited_on() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("x.csv");
        mkfifo(&fifo);
        assert_eq!(not_regular(&fifo).unwrap(), Some("a FIFO (named pipe)"));
        // No writer ever comes: a blocking open would hang this test.
        let e = open_regular(&fifo).unwrap_err();
        assert_eq!(
            e.to_string(),
            "it is a FIFO (named pipe), not a regular file"
        );
        assert_eq!(refused_kind(&e), Some("a FIFO (named pipe)"));
        assert_eq!(not_regular(dir.path()).unwrap(), Some("a folder"));
        assert!(open_regular(dir.path()).is_err());
        let file = dir.path().join("y.csv");
        fs::write(&file, "a\n").unwrap();
        assert_eq!(not_regular(&file).unwrap(), None);
        assert!(open_regular(&file).is_ok());
        let link = dir.path().join("l.csv");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        assert_eq!(
            describe(fs::symlink_metadata(&link).unwrap().file_type()),
            "a symbolic link"
        );
    }
}
